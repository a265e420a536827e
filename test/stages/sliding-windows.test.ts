import { firstValueFrom, from, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { embedFrames } from '../../src/stages/embed-frames.js';
import { windowsWithoutCache } from '../../bench/windows-without-cache.js';
import { slidingWindows } from '../../src/stages/sliding-windows.js';
import type { CameraState, Frame, FrameEmbedding, Window } from '../../src/types.js';
import { DeterministicEngine, frame, seqPixels } from '../support/deterministic-engine.js';
import { VirtualTime, record } from '../support/virtual-time.js';

/** Embedding [seq, seq+1] so a window's rows name its frames. */
const emb = (camera: string, seq: number, ts = 1000 + seq * 100): FrameEmbedding => ({ camera, seq, captureTs: ts, embedding: new Float32Array([seq, seq + 1]) });
const rows = (w: Window): number[] => Array.from({ length: w.frames }, (_, i) => w.embeddings[i * 2]);
/** Windows of `window` frames, stride 1, following camera states the test sends. */
function withStates(window: number) {
  const src = new Subject<FrameEmbedding>();
  const states = new Subject<CameraState>();
  const out: Window[] = [];
  const sub = src.pipe(slidingWindows({ window, stride: 1, cameraStates: states })).subscribe((w) => out.push(w));
  return { src, states, out, sub };
}

describe('slidingWindows', () => {
  it('emits a window every stride frames once W frames are buffered, with frame times', async () => {
    const input = Array.from({ length: 10 }, (_, i) => emb('a', i));
    const out = await firstValueFrom(from(input).pipe(slidingWindows({ window: 4, stride: 2 }), toArray()));
    expect(out.map((w) => [w.firstSeq, w.frames, w.start, w.end])).toEqual([
      [0, 4, 1000, 1300],
      [2, 4, 1200, 1500],
      [4, 4, 1400, 1700],
      [6, 4, 1600, 1900],
    ]);
    expect(out.map(rows)).toEqual([
      [0, 1, 2, 3],
      [2, 3, 4, 5],
      [4, 5, 6, 7],
      [6, 7, 8, 9],
    ]);
    expect(out[0].embeddings).toEqual(new Float32Array([0, 1, 1, 2, 2, 3, 3, 4]));
  });

  it('keeps cameras apart and defaults stride to W/2', async () => {
    const input: FrameEmbedding[] = [];
    for (let i = 0; i < 12; i++) input.push(emb('a', i), emb('b', 100 + i));
    const out = await firstValueFrom(from(input).pipe(slidingWindows({ window: 8 }), toArray()));
    expect(out.map((w) => [w.camera, w.firstSeq])).toEqual([
      ['a', 0], ['b', 100], ['a', 4], ['b', 104],
    ]);
  });

  it('stride W gives non-overlapping windows; stride 1 a window per frame', async () => {
    const input = Array.from({ length: 9 }, (_, i) => emb('a', i));
    const w3 = await firstValueFrom(from(input).pipe(slidingWindows({ window: 3, stride: 3 }), toArray()));
    expect(w3.map((w) => w.firstSeq)).toEqual([0, 3, 6]);
    const w1 = await firstValueFrom(from(input).pipe(slidingWindows({ window: 8, stride: 1 }), toArray()));
    expect(w1.map((w) => w.firstSeq)).toEqual([0, 1]);
  });

  it('resets when seq goes back (source restarted) or frames are too far apart in time', async () => {
    const input = [
      ...[0, 1, 2].map((s) => emb('a', s)),
      // restart: seq back to 0, the 3 buffered frames are dropped
      ...[0, 1, 2, 3].map((s) => emb('a', s, 5000 + s * 100)),
      // 6 s outage: buffer dropped again
      ...[4, 5, 6, 7].map((s) => emb('a', s, 20_000 + s * 100)),
    ];
    const out = await firstValueFrom(from(input).pipe(slidingWindows({ window: 4, stride: 4 }), toArray()));
    expect(out.map((w) => [w.firstSeq, w.start])).toEqual([
      [0, 5000],
      [4, 20_400],
    ]);
  });

  it('does not reset on seq gaps by default (sampling and drop-oldest make them); maxSeqGap opts in', async () => {
    const input = [0, 1, 5, 6, 7, 20, 21].map((s) => emb('a', s));
    const lenient = await firstValueFrom(from(input).pipe(slidingWindows({ window: 4, stride: 1 }), toArray()));
    expect(lenient.map(rows)).toEqual([
      [0, 1, 5, 6],
      [1, 5, 6, 7],
      [5, 6, 7, 20],
      [6, 7, 20, 21],
    ]);
    const strict = await firstValueFrom(from(input).pipe(slidingWindows({ window: 3, stride: 1, maxSeqGap: 3 }), toArray()));
    expect(strict.map(rows)).toEqual([[5, 6, 7]]);
  });

  it('drops a camera buffer when the camera stops or reconnects, and releases on unsubscribe', () => {
    const { src, states, out, sub } = withStates(3);
    src.next(emb('a', 0));
    src.next(emb('a', 1));
    states.next({ camera: 'a', status: 'reconnecting', since: 0, attempt: 1 });
    src.next(emb('a', 2));
    src.next(emb('a', 3));
    expect(out).toEqual([]);
    src.next(emb('a', 4));
    expect(out.map((w) => w.firstSeq)).toEqual([2]);
    sub.unsubscribe();
    expect(src.observed).toBe(false);
    expect(states.observed).toBe(false);
  });

  it('frames captured before a reset that arrive after it complete the old buffer, never the new one', () => {
    const { src, states, out, sub } = withStates(3);
    src.next(emb('a', 0, 1000));
    src.next(emb('a', 1, 1050));
    states.next({ camera: 'a', status: 'reconnecting', since: 1150, attempt: 1 });
    // Still in the encoder when the camera dropped: its window is not lost.
    src.next(emb('a', 2, 1100));
    expect(out.map((w) => rows(w))).toEqual([[0, 1, 2]]);
    for (const seq of [3, 4, 5]) src.next(emb('a', seq, 1200 + seq * 100));
    expect(out.map((w) => rows(w))).toEqual([[0, 1, 2], [3, 4, 5]]);
    sub.unsubscribe();
  });

  it('ignores frames of a stopped camera captured before it stopped', () => {
    const { src, states, out, sub } = withStates(2);
    src.next(emb('a', 0, 1000));
    states.next({ camera: 'a', status: 'stopped', since: 1150, attempt: 0 });
    src.next(emb('a', 1, 1100));
    expect(out).toEqual([]);
    sub.unsubscribe();
  });

  it('never joins frames from before a reset with frames after it', () => {
    const { src, states, out, sub } = withStates(3);
    src.next(emb('a', 0, 1000));
    states.next({ camera: 'a', status: 'reconnecting', since: 1150, attempt: 1 });
    // Encoded late: captured before the outage, delivered after the reset.
    src.next(emb('a', 1, 1100));
    // The new connection (seq continues, captures less than maxGapMs later).
    for (const seq of [2, 3, 4]) src.next(emb('a', seq, 1200 + seq * 100));
    expect(out.map((w) => rows(w))).toEqual([[2, 3, 4]]);
    expect(out[0].start).toBeGreaterThanOrEqual(1150);
    sub.unsubscribe();
  });

  it('rejects bad sizes', () => {
    expect(() => slidingWindows({ window: 0 })).toThrow(ConfigError);
    expect(() => slidingWindows({ window: 8, stride: 0 })).toThrow(ConfigError);
  });
});

describe('embedding cache vs windowsWithoutCache', () => {
  const W = 8;
  const stride = 2;
  const N = 32;
  const input: Frame[] = Array.from({ length: N }, (_, i) => frame('a', i, i * 40));

  it('encodes each frame exactly once across overlapping windows, and matches the re-encoding baseline', async () => {
    const vt = new VirtualTime();
    const cached = new DeterministicEngine({ scheduler: vt.scheduler, frames: W });
    const src = new Subject<Frame>();
    const out = record(vt, src.pipe(embedFrames(cached, { maxBatch: 4, maxWaitMs: 5, scheduler: vt.scheduler, preprocess: seqPixels() }), slidingWindows({ window: W, stride })));
    input.forEach((f) => vt.scheduler.schedule(() => src.next(f), f.captureTs));
    vt.scheduler.schedule(() => src.complete(), N * 40);
    await vt.runAll();
    const windows = out.values.map((x) => x.v);
    expect(windows).toHaveLength((N - W) / stride + 1);
    expect(cached.framesEncoded).toBe(N);
    expect(cached.callsOf('encodeFrames').flatMap((c) => c.tags)).toEqual(input.map((f) => f.seq));

    const baseline = new DeterministicEngine({ frames: W });
    const again = await firstValueFrom(from(input).pipe(windowsWithoutCache(baseline, { window: W, stride, preprocess: seqPixels() }), toArray()));
    expect(baseline.framesEncoded).toBe(windows.length * W);
    expect(baseline.callsOf('encodeFrames').every((c) => c.n === W)).toBe(true);
    expect(again).toEqual(windows);
  });
});
