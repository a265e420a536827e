import { describe, expect, it } from 'vitest';
import { urlKind } from '../../src/sources/url-kind.js';

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
