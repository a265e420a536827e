import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { firstValueFrom, filter, take, toArray, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { backoffDelay, cameraFrames, ffmpegArgs, isCameraState, type CameraEvent } from '../../src/sources/camera-source.js';
import { resolveFfmpeg } from '../../src/sources/ffmpeg-path.js';
import type { CameraState, Frame } from '../../src/types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'actionclip-camsrc-'));
const supervision = { stallTimeoutSec: 0.6, connectTimeoutSec: 5, backoff: { initialMs: 50, maxMs: 400, jitter: 0.2 } };

/**
 * A stand-in for ffmpeg (a node script): writes `frames` raw frames of the size in its -vf
 * argument, then behaves as `after` says. Each start appends its pid to `pids`.
 */
function fakeFfmpeg(name: string, frames: number, after: 'hang' | 'exit1' | 'exit0'): { bin: string; pids: string } {
  const bin = path.join(dir, name);
  const pids = path.join(dir, `${name}.pids`);
  writeFileSync(pids, '');
  writeFileSync(
    bin,
    `#!/usr/bin/env node
const fs = require('node:fs');
fs.appendFileSync(${JSON.stringify(pids)}, process.pid + '\\n');
const vf = process.argv[process.argv.indexOf('-vf') + 1];
const [w, h] = /scale=(\\d+):(\\d+)/.exec(vf).slice(1).map(Number);
let n = 0;
const t = setInterval(() => {
  if (n++ < ${frames}) { process.stdout.write(Buffer.alloc(w * h * 3, n)); return; }
  clearInterval(t);
  ${after === 'hang' ? 'setInterval(() => {}, 1000);' : after === 'exit1' ? "process.stderr.write('rtsp://admin:hunter2@cam/x: Connection refused\\n'); process.exit(1);" : 'process.exit(0);'}
}, 20);
`,
  );
  chmodSync(bin, 0o755);
  return { bin, pids };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const states = (events: CameraEvent[]): string[] => events.filter(isCameraState).map((s) => s.status);
const collect = (src: Observable<CameraEvent>, until: (e: CameraEvent[]) => boolean): Promise<CameraEvent[]> =>
  new Promise((resolve, reject) => {
    const got: CameraEvent[] = [];
    const sub = src.subscribe({
      next: (e) => {
        got.push(e);
        if (until(got)) {
          sub.unsubscribe();
          resolve(got);
        }
      },
      error: reject,
      complete: () => resolve(got),
    });
  });

describe('ffmpegArgs / backoffDelay', () => {
  it('uses TCP for RTSP and keeps the URL one argument (no shell)', () => {
    const url = 'rtsp://u:p@h/s; rm -rf /';
    const args = ffmpegArgs(url, { fps: 2, width: 32, height: 24 });
    expect(args.slice(args.indexOf('-rtsp_transport'), args.indexOf('-rtsp_transport') + 2)).toEqual(['-rtsp_transport', 'tcp']);
    expect(args[args.indexOf('-i') + 1]).toBe(url);
    expect(args).toContain('fps=2,scale=32:24');
    expect(args).not.toContain('-re'); // live input
    expect(ffmpegArgs('clip.mp4', { fps: 2, width: 32, height: 24 })).toContain('-re');
    const lavfi = ffmpegArgs('lavfi:testsrc', { fps: 2, width: 32, height: 24 });
    expect(lavfi[lavfi.indexOf('-i') + 1]).toBe('testsrc');
    expect(lavfi[lavfi.indexOf('-f') + 1]).toBe('lavfi');
  });

  it('grows exponentially, is capped, and jitters within bounds', () => {
    const b = { initialMs: 100, maxMs: 1000, jitter: 0.5 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, b, () => 0.5))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(1, b, () => 0)).toBe(50);
    expect(backoffDelay(1, b, () => 1)).toBe(150);
    expect(backoffDelay(10, b, () => 1)).toBe(1000);
  });
});

describe('cameraFrames', () => {
  it('decodes a real ffmpeg source into RGB frames at the requested size, ', async () => {
    const src = cameraFrames({ id: 'pattern', url: 'lavfi:testsrc=size=64x48:rate=10' }, { fps: 5, width: 32, height: 24, ffmpegPath: resolveFfmpeg().path, supervision: { ...supervision, stallTimeoutSec: 10, connectTimeoutSec: 10 } });
    const events = await collect(src, (e) => e.filter((x) => !isCameraState(x)).length >= 3);
    expect(states(events)).toEqual(['connecting', 'streaming']);
    const frames = events.filter((e): e is Frame => !isCameraState(e));
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2]);
    for (const f of frames) {
      expect(f.rgb.length).toBe(32 * 24 * 3);
      expect(f.camera).toBe('pattern');
    }
    expect(frames[2].captureTs).toBeGreaterThanOrEqual(frames[0].captureTs);
  });

  it('kills ffmpeg when unsubscribed', async () => {
    const fake = fakeFfmpeg('hang-forever', 2, 'hang');
    const src = cameraFrames({ id: 'c', url: 'rtsp://cam/x' }, { fps: 5, width: 4, height: 4, ffmpegPath: fake.bin, supervision: { ...supervision, stallTimeoutSec: 30, connectTimeoutSec: 30 } });
    await collect(src, (e) => e.filter((x) => !isCameraState(x)).length >= 1);
    const pid = Number(readFileSync(fake.pids, 'utf8').trim());
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(pid)).toBe(false);
  });

  it('restarts a stalled ffmpeg: streaming -> stalled -> reconnecting -> streaming, seq continues', async () => {
    const fake = fakeFfmpeg('stall', 2, 'hang');
    const src = cameraFrames({ id: 'c', url: 'rtsp://cam/x' }, { fps: 5, width: 4, height: 4, ffmpegPath: fake.bin, supervision });
    const events = await collect(src, (e) => states(e).filter((s) => s === 'streaming').length >= 2 && e.filter((x) => !isCameraState(x)).length >= 4);
    expect(states(events)).toEqual(['connecting', 'streaming', 'stalled', 'reconnecting', 'streaming']);
    const frames = events.filter((e): e is Frame => !isCameraState(e));
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2, 3]);
    const pids = readFileSync(fake.pids, 'utf8').trim().split('\n').map(Number);
    expect(pids.length).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(pids.some(alive)).toBe(false); // the stalled one was killed, the last on unsubscribe
  });

  it('reconnects with growing attempts when ffmpeg keeps failing, never showing credentials', async () => {
    const fake = fakeFfmpeg('refused', 0, 'exit1');
    const src = cameraFrames({ id: 'c', url: 'rtsp://admin:hunter2@cam/x' }, { fps: 5, width: 4, height: 4, ffmpegPath: fake.bin, supervision });
    const events = await collect(src, (e) => states(e).filter((s) => s === 'reconnecting').length >= 3);
    const rec = events.filter(isCameraState).filter((s) => s.status === 'reconnecting');
    expect(rec.map((s) => s.attempt)).toEqual([1, 2, 3]);
    expect(rec[0].reason).toMatch(/code 1/);
    expect(rec[0].reason).toContain('rtsp://***@cam/x');
    expect(JSON.stringify(events)).not.toContain('hunter2');
  });

  it('a finite input that ends is stopped and completes', async () => {
    const fake = fakeFfmpeg('file-end', 3, 'exit0');
    const src = cameraFrames({ id: 'c', url: '/videos/clip.mp4' }, { fps: 5, width: 4, height: 4, ffmpegPath: fake.bin, supervision });
    const events = await firstValueFrom(src.pipe(toArray()));
    expect(states(events)).toEqual(['connecting', 'streaming', 'stopped']);
    expect(events.filter((e) => !isCameraState(e))).toHaveLength(3);
  });

  it('a missing ffmpeg binary is stopped (not retried)', async () => {
    const src = cameraFrames({ id: 'c', url: 'rtsp://cam/x' }, { fps: 5, width: 4, height: 4, ffmpegPath: path.join(dir, 'no-such-ffmpeg'), supervision });
    const last = await firstValueFrom(src.pipe(filter(isCameraState), filter((s: CameraState) => s.status === 'stopped'), take(1)));
    expect(last.reason).toMatch(/cannot start ffmpeg/);
  });
});
