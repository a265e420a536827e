import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CameraRegistry } from '../../src/control/camera-registry.js';
import { ConfigError } from '../../src/errors.js';
import { cameraFrames } from '../../src/sources/camera-source.js';
import { openFrameSource, schemeOf, urlKind } from '../../src/sources/registry.js';
import type { CameraState, Frame } from '../../src/types.js';

describe('urlKind', () => {
  it.each([
    ['rtsp://127.0.0.1:8554/cam', true, true, true],
    ['RTSPS://127.0.0.1/cam', true, true, true],
    ['http://127.0.0.1:8080/mjpeg', true, false, true],
    ['srt://127.0.0.1:9000', true, true, true],
    ['file:///tmp/clip.mp4', false, false, false],
    ['/tmp/clip.mp4', false, false, false],
    ['lavfi:testsrc', false, false, false],
    ['v4l2:///dev/video0', true, true, false],
  ])('%s', (url, live, wallclock, network) => {
    expect(urlKind(url)).toEqual({ live, wallclock, network });
  });
});

describe('the source registry', () => {
  const opts = { fps: 2, width: 4, height: 4, ffmpegPath: '/nonexistent/ffmpeg' };

  it.each(['concat:/etc/passwd|/etc/shadow', 'subfile:,,start,0,end,0,,:/etc/passwd', 'gopher://127.0.0.1/x', 'data:video/mp4;base64,AAAA'])('refuses %s naming the scheme', (url) => {
    expect(() => openFrameSource(url, opts)).toThrow(ConfigError);
    expect(() => openFrameSource(url, opts)).toThrow(`unsupported camera URL scheme "${schemeOf(url)}:"`);
  });

  it.each([
    ['rtsp://127.0.0.1/cam', 'rtsp'],
    ['/videos/clip.mp4', 'file'],
    ['clip.mp4', 'file'],
    ['C:\\videos\\clip.mp4', 'file'],
    ['FILE:///tmp/x.mp4', 'file'],
    ['lavfi:testsrc', 'lavfi'],
    ['v4l2:///dev/video0', 'v4l2'],
  ])('opens %s as %s without connecting', (url, scheme) => {
    expect(schemeOf(url)).toBe(scheme);
    expect(typeof openFrameSource(url, opts).connect).toBe('function');
  });

  it("checks a scheme's own syntax when the source is opened, before any connection", () => {
    expect(() => openFrameSource('v4l2:///dev/video0?vf=scale', opts)).toThrow(/"vf" is not supported/);
  });

  it('a camera with an unsupported URL is never added to the registry', () => {
    const cameras = new CameraRegistry({ open: (c) => cameraFrames(c, { ...opts, supervision: { stallTimeoutSec: 1, connectTimeoutSec: 1, backoff: { initialMs: 1, maxMs: 1, jitter: 0 } } }), frames: new Subject<Frame>(), states: new Subject<CameraState>() });
    expect(() => cameras.add({ id: 'x', url: 'concat:a|b' })).toThrow(ConfigError);
    expect(cameras.list()).toEqual([]);
  });
});
