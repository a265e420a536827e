// Two more kinds of camera through the same supervised source: an HTTP MJPEG camera, played by a
// real ffmpeg serving `-f mpjpeg` over HTTP on 127.0.0.1, and a V4L2 capture device (its argument
// building always; a real device only where /dev/video0 exists).
import { existsSync } from 'node:fs';
import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { cameraFrames } from '../../src/sources/camera-source.js';
import { cameraArgs } from '../../src/sources/ffmpeg-camera.js';
import { isCameraState, type CameraEvent } from '../../src/sources/frame-source.js';
import { describeUrl } from '../../src/sources/registry.js';
import { resolveFfmpeg } from '../../src/sources/ffmpeg-path.js';
import { v4l2Input } from '../../src/sources/v4l2.js';
import type { CameraState, Frame } from '../../src/types.js';
import { freePort, spawnManaged, type ManagedProcess } from '../../harness/processes.js';

const supervision = { stallTimeoutSec: 5, connectTimeoutSec: 5, backoff: { initialMs: 100, maxMs: 500, jitter: 0.2 } };
const ffmpegArgs = (url: string, o: { fps: number; width: number; height: number }) => cameraArgs(url, describeUrl(url), o);
let server: ManagedProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** An MJPEG "camera": ffmpeg's HTTP server sending a test pattern as multipart JPEG. */
async function mjpegCamera(port: number): Promise<ManagedProcess> {
  const args = ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10', '-c:v', 'mjpeg', '-q:v', '5', '-f', 'mpjpeg', '-listen', '1', `http://127.0.0.1:${port}/cam.mjpg`];
  return spawnManaged(resolveFfmpeg().path, args);
}

describe('HTTP MJPEG camera', () => {
  it('streams frames from an mpjpeg HTTP server on loopback, connecting then streaming', async () => {
    const port = await freePort();
    server = await mjpegCamera(port);
    const events: CameraEvent[] = [];
    const src = cameraFrames({ id: 'mjpeg', url: `http://127.0.0.1:${port}/cam.mjpg` }, { fps: 5, width: 32, height: 24, ffmpegPath: resolveFfmpeg().path, supervision });
    const frames = await firstValueFrom(
      src.pipe(
        filter((e) => (events.push(e), !isCameraState(e))),
        take(3),
        toArray(),
      ),
    );
    const states = events.filter(isCameraState).map((s) => (s as CameraState).status);
    expect(states[0]).toBe('connecting'); // may reconnect while the server starts listening
    expect(states).toContain('streaming');
    for (const f of frames as Frame[]) expect(f.rgb.length).toBe(32 * 24 * 3);
    expect((frames as Frame[]).map((f) => f.seq)).toEqual([0, 1, 2]);
  }, 30_000);
});

describe('V4L2 device', () => {
  it('maps the URL onto the v4l2 demuxer, stamps with the wall clock, never as a file (-re)', () => {
    const args = ffmpegArgs('v4l2:///dev/video0?input_format=mjpeg&video_size=1280x720&framerate=30', { fps: 4, width: 224, height: 224 });
    const i = args.indexOf('-i');
    expect(args[i + 1]).toBe('/dev/video0');
    expect(args.slice(0, i)).toEqual(expect.arrayContaining(['-f', 'v4l2', '-input_format', 'mjpeg', '-video_size', '1280x720', '-framerate', '30', '-use_wallclock_as_timestamps', '1']));
    expect(args).not.toContain('-re');
  });

  it.each([
    ['v4l2://host/dev/video0', /device under \/dev/],
    ['v4l2:///etc/passwd', /device under \/dev/],
    ['v4l2:///dev/video0?vf=scale', /"vf" is not supported/],
    ['v4l2:///dev/video0?video_size=big', /video_size="big" is malformed/],
  ])('refuses %s', (url, message) => {
    expect(() => v4l2Input(url)).toThrow(ConfigError);
    expect(() => v4l2Input(url)).toThrow(message);
  });

  it.skipIf(!existsSync('/dev/video0'))('reads frames from /dev/video0 (skipped: no V4L2 device on this machine)', async () => {
    const src = cameraFrames({ id: 'v4l2', url: 'v4l2:///dev/video0' }, { fps: 2, width: 32, height: 24, ffmpegPath: resolveFfmpeg().path, supervision });
    const frames = await firstValueFrom(src.pipe(filter((e) => !isCameraState(e)), take(2), toArray()));
    expect(frames).toHaveLength(2);
  }, 30_000);
});
