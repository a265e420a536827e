import { describe, expect, it } from 'vitest';
import { redactText, redactUrl } from '../../src/sources/redact.js';

describe('redactUrl', () => {
  it.each([
    ['rtsp://user:pass@host/stream', 'rtsp://***@host/stream'],
    ['rtsp://user:pass@10.0.0.2:554/live?x=1', 'rtsp://***@10.0.0.2:554/live?x=1'],
    ['rtsp://admin@cam.local/ch1', 'rtsp://***@cam.local/ch1'],
    ['rtsp://user:p@ss@host/s', 'rtsp://***@host/s'],
    ['http://host/live.m3u8?token=abc123&res=hd', 'http://host/live.m3u8?token=***&res=hd'],
    ['https://u:p@host/a?password=x', 'https://***@host/a?password=***'],
    ['rtsp://host/stream', 'rtsp://host/stream'],
    ['/videos/clip.mp4', '/videos/clip.mp4'],
    ['user@example.com.mp4', 'user@example.com.mp4'],
  ])('%s → %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  it('redacts URLs inside free text', () => {
    expect(redactText("[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized\nrtsp://a:b@cam/x: Server returned 401")).toBe(
      '[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized\nrtsp://***@cam/x: Server returned 401',
    );
  });
});
