import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { firstValueFrom, filter, take, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cameraFrames } from '../../src/sources/camera-source.js';
import { cameraArgs } from '../../src/sources/ffmpeg-camera.js';
import { parseStderrLine, ShowinfoReader } from '../../src/sources/ffmpeg/showinfo.js';
import { isCameraState, type CameraEvent } from '../../src/sources/frame-source.js';
import { describeUrl } from '../../src/sources/registry.js';
import { backoffDelay } from '../../src/lifecycle/backoff.js';
import { resolveFfmpeg } from '../../src/sources/ffmpeg-path.js';
import type { CameraState, Frame } from '../../src/types.js';
import { publishTestPattern, startRtspServer, type Publisher, type RtspServer } from '../../harness/rtsp-server.js';
import { isAlive } from '../../harness/processes.js';

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

const ffmpegArgs = (url: string, o: { fps: number; width: number; height: number }) => cameraArgs(url, describeUrl(url), o);
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
    expect(args).toContain('fps=2,scale=32:24,showinfo');
    // Network inputs: capture times are ffmpeg's packet receive times, kept as they are.
    expect(args.slice(args.indexOf('-use_wallclock_as_timestamps'), args.indexOf('-use_wallclock_as_timestamps') + 2)).toEqual(['-use_wallclock_as_timestamps', '1']);
    expect(args.indexOf('-copyts')).toBeGreaterThan(args.indexOf('-i'));
    expect(ffmpegArgs('clip.mp4', { fps: 2, width: 32, height: 24 })).not.toContain('-use_wallclock_as_timestamps');
    expect(ffmpegArgs('https://cam/live.m3u8', { fps: 2, width: 32, height: 24 })).not.toContain('-copyts');
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
    expect(isAlive(pid)).toBe(false);
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
    expect(pids.some(isAlive)).toBe(false); // the stalled one was killed, the last on unsubscribe
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

describe('showinfo parsing', () => {
  it('reads frame numbers, pts and the time base; tells log levels apart', () => {
    expect(parseStderrLine('[Parsed_showinfo_2 @ 0x41992d40] [info] n:   3 pts:7181733556 pts_time:1.79543e+09 pos:       -1 fmt:rgb24')).toEqual({ kind: 'frame', n: 3, pts: 7181733556 });
    // Without the level tag (older logs) and without a pts.
    expect(parseStderrLine('[Parsed_showinfo_3 @ 0x1] n:  12 pts:  NOPTS pts_time:NOPTS')).toEqual({ kind: 'frame', n: 12, pts: undefined });
    expect(parseStderrLine('[Parsed_showinfo_2 @ 0x1] [info] config in time_base: 2/5, frame_rate: 5/2')).toEqual({ kind: 'timebase', num: 2, den: 5 });
    expect(parseStderrLine('[Parsed_showinfo_2 @ 0x1] [info] color_range:tv color_space:unknown')).toEqual({ kind: 'showinfo' });
    expect(parseStderrLine("[info] Input #0, rtsp, from 'rtsp://u:p@h/x':")).toEqual({ kind: 'log', level: 'info', text: "Input #0, rtsp, from 'rtsp://u:p@h/x':" });
    expect(parseStderrLine('[tcp @ 0x1008fc80] [error] Connection refused')).toEqual({ kind: 'log', level: 'error', text: '[tcp @ 0x1008fc80] Connection refused' });
    expect(parseStderrLine('rtsp://u:p@h/x: Connection refused')).toMatchObject({ kind: 'log', level: 'error' }); // untagged: treat as an error
  });

  it('pairs frame numbers with ms across split chunks, forgets older frames, stays bounded', () => {
    const logs: string[] = [];
    const r = new ShowinfoReader(4, (level, text) => logs.push(`${level}:${text}`), 8);
    r.write('[Parsed_showinfo_2 @ 0x1] [info] config in time_base: 1/4, frame_rate: 4/1\n[Parsed_showinfo_2 @ 0x1] [info] n:   0 pts:7181733553 pts_');
    expect(r.latest).toBe(-1); // the line is not complete yet
    r.write('time:1.79543e+09\n[Parsed_showinfo_2 @ 0x1] [info] n:   1 pts:7181733554\r\n[warning] -vsync is deprecated\n');
    expect(r.latest).toBe(1);
    expect(r.take(0)).toBe(1795433388250); // exact: pts_time (%.6g) would have lost the ms
    expect(r.take(1)).toBe(1795433388500);
    expect(r.take(1)).toBeUndefined();
    expect(logs).toEqual(['warning:-vsync is deprecated']);
    for (let n = 2; n < 40; n++) r.write(`[Parsed_showinfo_2 @ 0x1] [info] n:${n} pts:${n}\n`);
    expect(r.take(31)).toBeUndefined(); // only the 8 newest are kept
    expect(r.take(35)).toBe(8750);
    expect(r.take(34)).toBeUndefined(); // older than a frame already taken
  });
});

/**
 * A stand-in ffmpeg that writes each frame on stdout first and its showinfo line on stderr a
 * little later (the pipes are not synchronised), with wall-clock pts 5 s in the past (the probe
 * delay), skipping the line of frame `skip`.
 */
function fakeFfmpegWithTimes(name: string, frames: number, skip: number): { bin: string; base: string } {
  const bin = path.join(dir, name);
  const base = path.join(dir, `${name}.base`);
  writeFileSync(
    bin,
    `#!/usr/bin/env node
const fs = require('node:fs');
const vf = process.argv[process.argv.indexOf('-vf') + 1];
const [w, h] = /scale=(\\d+):(\\d+)/.exec(vf).slice(1).map(Number);
const first = Math.round((Date.now() - 5000) / 200);
fs.writeFileSync(${JSON.stringify(base)}, String(first * 200));
process.stderr.write('[Parsed_showinfo_2 @ 0x1] [info] config in time_base: 1/5, frame_rate: 5/1\\n');
let n = 0;
const t = setInterval(() => {
  if (n >= ${frames}) { clearInterval(t); setInterval(() => {}, 1000); return; }
  const k = n++;
  process.stdout.write(Buffer.alloc(w * h * 3, k));
  if (k !== ${skip}) setTimeout(() => process.stderr.write('[Parsed_showinfo_2 @ 0x1] [info] n:' + String(k).padStart(4) + ' pts:' + (first + k) + ' pts_time:x\\n[Parsed_showinfo_2 @ 0x1] [info] color_range:tv\\n'), 30);
}, 50);
`,
  );
  chmodSync(bin, 0o755);
  return { bin, base };
}

describe('capture times from ffmpeg', () => {
  it('pairs stdout frames with late stderr lines by frame number; a lost line is one period on', async () => {
    const fake = fakeFfmpegWithTimes('late-lines', 6, 3);
    const src = cameraFrames({ id: 'c', url: 'rtsp://cam/x' }, { fps: 5, width: 4, height: 4, ffmpegPath: fake.bin, supervision: { ...supervision, stallTimeoutSec: 30 } });
    const events = await collect(src, (e) => e.filter((x) => !isCameraState(x)).length >= 6);
    const frames = events.filter((e): e is Frame => !isCameraState(e));
    const base = Number(readFileSync(fake.base, 'utf8'));
    expect(frames.map((f) => f.captureTs - base)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(frames.map((f) => f.rgb[0])).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a file read faster than real time is stamped by its pts, not by when frames arrive', async () => {
    const src = cameraFrames({ id: 'f', url: 'lavfi:testsrc=size=64x48:rate=10' }, { fps: 5, width: 32, height: 24, realtime: false, ffmpegPath: resolveFfmpeg().path, supervision: { ...supervision, stallTimeoutSec: 10, connectTimeoutSec: 10 } });
    const t0 = Date.now();
    const frames = (await collect(src, (e) => e.filter((x) => !isCameraState(x)).length >= 20)).filter((e): e is Frame => !isCameraState(e));
    expect(frames.slice(1).map((f, i) => f.captureTs - frames[i].captureTs)).toEqual(Array(19).fill(200));
    expect(frames[0].captureTs).toBeGreaterThanOrEqual(t0); // anchored at the first frame's arrival
  });

  describe('real RTSP server', () => {
    let rtsp: RtspServer;
    let publisher: Publisher | undefined;
    beforeAll(async () => {
      rtsp = await startRtspServer();
      publisher = await publishTestPattern(rtsp.url('cam'), { fps: 10, width: 64, height: 48 });
    });
    afterAll(async () => {
      await publisher?.stop();
      await rtsp?.stop();
    });

    it('frames buffered during the RTSP probe keep their spacing (the first window is not bunched)', async () => {
      const fps = 4;
      const windowSize = 8;
      const src = cameraFrames({ id: 'rtsp', url: rtsp.url('cam') }, { fps, width: 32, height: 24, ffmpegPath: resolveFfmpeg().path, supervision: { ...supervision, stallTimeoutSec: 10, connectTimeoutSec: 20 } });
      const events = await collect(src, (e) => e.filter((x) => !isCameraState(x)).length >= windowSize);
      const frames = events.filter((e): e is Frame => !isCameraState(e));
      // Streaming since the first frame's capture (not its late arrival), announced before it.
      const streaming = events.findIndex((e) => isCameraState(e) && e.status === 'streaming');
      expect(streaming).toBe(events.indexOf(frames[0]) - 1);
      expect((events[streaming] as CameraState).since).toBe(frames[0].captureTs);
      const gaps = frames.slice(1).map((f, i) => f.captureTs - frames[i].captureTs);
      const period = 1000 / fps;
      const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
      expect(gaps.every((g) => g > 0), `gaps ${gaps.join(',')}`).toBe(true);
      expect(mean, `gaps ${gaps.join(',')}`).toBeGreaterThan(0.5 * period);
      expect(mean, `gaps ${gaps.join(',')}`).toBeLessThan(1.5 * period);
    });
  });
});
