// Smoke test of the real RTSP server the integration tests use: publish ffmpeg's test
// pattern, read frames back, and survive the server being killed and restarted by PID.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  probeStream,
  publishTestPattern,
  readFrames,
  startFrameReader,
  startRtspServer,
  type Publisher,
  type RtspServer,
} from '../../harness/rtsp-server.js';
import { isAlive } from '../../harness/processes.js';

describe('real RTSP server (mediamtx, loopback)', () => {
  let server: RtspServer;
  let publisher: Publisher | undefined;

  beforeAll(async () => {
    server = await startRtspServer();
  });

  afterAll(async () => {
    await publisher?.stop();
    await server?.stop();
  });

  it('serves on loopback', () => {
    expect(server.url('cam1')).toBe(`rtsp://127.0.0.1:${server.port}/cam1`);
    expect(isAlive(server.pid)).toBe(true);
  });

  it('nothing is readable on a path before it is published', async () => {
    expect(await probeStream(server.url('nobody'), 3_000)).toBeUndefined();
  });

  it('publishes a test pattern and reads frames from it', async () => {
    publisher = await publishTestPattern(server.url('cam1'), { fps: 10, width: 320, height: 240 });
    expect(await probeStream(server.url('cam1'))).toEqual({ codec: 'h264', width: 320, height: 240 });
    expect(await readFrames(server.url('cam1'), { count: 5 })).toBe(5);
  });

  it('a reader sees the stream end when the server is killed; restart and re-publish work', async () => {
    const reader = await startFrameReader(server.url('cam1'), { count: 1_000_000, timeoutMs: 60_000 });
    // Wait until the reader is really receiving before pulling the server away.
    for (let i = 0; i < 300 && reader.frames() < 3; i++) await new Promise((r) => setTimeout(r, 100));
    expect(reader.frames()).toBeGreaterThanOrEqual(3);

    const oldPid = server.pid;
    const port = server.port;
    await server.restart({ signal: 'SIGKILL' }); // a crash, not a clean shutdown
    expect(isAlive(oldPid)).toBe(false);
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(oldPid);

    // Both ffmpeg clients lose their connection and exit on their own.
    const ended = await reader.done;
    expect(ended.frames).toBeGreaterThanOrEqual(3);
    expect(ended.frames).toBeLessThan(1_000_000);
    await publisher?.exited;

    publisher = await publishTestPattern(server.url('cam1'), { fps: 10, width: 320, height: 240 });
    expect(await readFrames(server.url('cam1'), { count: 5 })).toBe(5);
  });

  it('stops by PID', async () => {
    await publisher?.stop();
    publisher = undefined;
    const pid = server.pid;
    await server.stop();
    expect(isAlive(pid)).toBe(false);
  });
});
