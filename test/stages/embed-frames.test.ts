import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { embedFrames } from '../../src/stages/embed-frames.js';
import type { Frame, FrameEmbedding } from '../../src/types.js';
import { DeterministicEngine, frame, seqPixels } from '../support/deterministic-engine.js';
import { record, VirtualTime } from '../support/virtual-time.js';

/** Frames of camera `a` with seq = their marble letter's position in the alphabet (a=0). */
const frames = (marbles: string, camera = 'a'): Record<string, Frame> => {
  const out: Record<string, Frame> = {};
  for (const c of new Set(marbles.replace(/[^a-z]/g, ''))) out[c] = frame(camera, c.charCodeAt(0) - 97, 0);
  return out;
};

describe('embedFrames (frame micro-batcher)', () => {
  it('sends a full batch at once (max batch)', async () => {
    const vt = new VirtualTime();
    const engine = new DeterministicEngine({ scheduler: vt.scheduler });
    const m = '(abcd)--(efgh)|';
    const src = vt.hot(m, frames(m));
    const out = record(vt, src.pipe(embedFrames(engine, { maxBatch: 4, maxWaitMs: 50, scheduler: vt.scheduler, preprocess: seqPixels() })));
    await vt.runAll();
    // A group `(abcd)` occupies 6 characters in run mode, so `(efgh)` lands at frame 8.
    expect(engine.callsOf('encodeFrames').map((c) => [c.at, c.n, c.tags])).toEqual([
      [0, 4, [0, 1, 2, 3]],
      [8, 4, [4, 5, 6, 7]],
    ]);
    expect(out.values.map(({ t, v }) => [t, v.seq])).toEqual([
      [0, 0], [0, 1], [0, 2], [0, 3],
      [8, 4], [8, 5], [8, 6], [8, 7],
    ]);
    expect(out.done).toBeDefined();
  });

  it('sends a partial batch when the oldest frame has waited maxWaitMs (max wait)', async () => {
    const vt = new VirtualTime();
    const engine = new DeterministicEngine({ scheduler: vt.scheduler });
    //          0  3       12  15           30
    const m = 'a--b--------c--d-------------------------';
    const src = vt.hot(m, frames(m));
    const out = record(vt, src.pipe(embedFrames(engine, { maxBatch: 8, maxWaitMs: 10, scheduler: vt.scheduler, preprocess: seqPixels() })));
    await vt.runUntil(100);
    expect(engine.callsOf('encodeFrames').map((c) => [c.at, c.tags])).toEqual([
      [10, [0, 1]],
      [22, [2, 3]],
    ]);
    expect(out.values.map(({ t, v }) => [t, v.seq])).toEqual([
      [10, 0], [10, 1], [22, 2], [22, 3],
    ]);
    out.unsubscribe();
  });

  it('keeps one call in flight, drops oldest under a slow engine, and stays within queue capacity', async () => {
    const vt = new VirtualTime();
    const engine = new DeterministicEngine({ scheduler: vt.scheduler, latencyMs: 100 });
    const cams = ['a', 'b'];
    const capacity = 5;
    let maxDepth = 0;
    const drops = new Map<string, number>();
    const batches: number[] = [];
    const src = new Subject<Frame>();
    const out = record(
      vt,
      src.pipe(
        embedFrames(engine, {
          maxBatch: 4,
          maxWaitMs: 20,
          queueCapacity: capacity,
          scheduler: vt.scheduler,
          preprocess: seqPixels(cams),
          stats: {
            onDepth: (_c, d) => (maxDepth = Math.max(maxDepth, d)),
            onDrop: (c, n) => drops.set(c, (drops.get(c) ?? 0) + n),
            onBatch: (n) => batches.push(n),
          },
        }),
      ),
    );
    // Two cameras at 100 fps for 1 s: 4 frames per 100 ms is all the engine can take.
    const N = 100;
    for (let i = 0; i < N; i++) {
      vt.scheduler.schedule(() => {
        src.next(frame('a', i, i * 10));
        src.next(frame('b', i, i * 10));
      }, i * 10);
    }
    vt.scheduler.schedule(() => src.complete(), N * 10);
    await vt.runAll();

    expect(out.error).toBeUndefined();
    expect(out.done).toBeDefined();
    expect(engine.maxInFlight).toBe(1);
    expect(maxDepth).toBeLessThanOrEqual(capacity);
    const encoded = out.values.length;
    expect(engine.framesEncoded).toBe(encoded);
    // Every frame is either encoded or counted as dropped.
    expect(encoded + (drops.get('a') ?? 0) + (drops.get('b') ?? 0)).toBe(2 * N);
    expect(drops.get('a')).toBeGreaterThan(50);
    expect(batches.every((n) => n <= 4)).toBe(true);
    // Fair: both cameras get the same share (round-robin), each in increasing seq order.
    for (const cam of cams) {
      const seqs = out.values.filter((x) => x.v.camera === cam).map((x) => x.v.seq);
      expect(Math.abs(seqs.length - encoded / 2)).toBeLessThanOrEqual(1);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
    }
  });

  it('preprocesses only the frames it encodes, and embeddings belong to their frame', async () => {
    const vt = new VirtualTime();
    const engine = new DeterministicEngine({ scheduler: vt.scheduler, latencyMs: 50 });
    const pre = seqPixels();
    const m = '(abcdefghij)|';
    const out = record(vt, vt.hot(m, frames(m)).pipe(embedFrames(engine, { maxBatch: 2, maxWaitMs: 5, queueCapacity: 3, scheduler: vt.scheduler, preprocess: pre })));
    await vt.runAll();
    expect(pre.calls).toBe(engine.framesEncoded);
    // The first batch takes a,b; of the 8 left only the newest 3 survive; they flush on completion.
    expect(out.values.map((x) => x.v.seq)).toEqual([0, 1, 7, 8, 9]);
    for (const { v } of out.values) expect((v as FrameEmbedding).embedding[0]).toBe(v.seq);
  });

  it('frees its timer and queues on unsubscribe, and ignores an in-flight result', async () => {
    const vt = new VirtualTime();
    const engine = new DeterministicEngine({ scheduler: vt.scheduler, latencyMs: 30 });
    const src = new Subject<Frame>();
    const out = record(vt, src.pipe(embedFrames(engine, { maxBatch: 2, maxWaitMs: 10, scheduler: vt.scheduler, preprocess: seqPixels() })));
    src.next(frame('a', 0, 0));
    src.next(frame('a', 1, 0)); // full batch: in flight until t=30
    src.next(frame('a', 2, 0));
    out.unsubscribe();
    expect(src.observed).toBe(false);
    await vt.runAll();
    expect(out.values).toEqual([]);
    expect(vt.pending()).toBe(0);
    expect(engine.framesEncoded).toBe(2);
  });

  it('propagates an engine error', async () => {
    const vt = new VirtualTime();
    const engine = new DeterministicEngine({ scheduler: vt.scheduler });
    engine.failNext = new Error('out of memory');
    const m = 'a|';
    const out = record(vt, vt.hot(m, frames(m)).pipe(embedFrames(engine, { scheduler: vt.scheduler, preprocess: seqPixels() })));
    await vt.runAll();
    expect((out.error as Error).message).toBe('out of memory');
  });

  it('refuses Joint and Shift image encoders (frames are not independent)', () => {
    expect(() => embedFrames(new DeterministicEngine({ joint: true }))).toThrow(ConfigError);
    expect(() => embedFrames(new DeterministicEngine({ shift: true }))).toThrow(ConfigError);
  });

  it('uses preprocessFrame by default (model input size from the engine)', async () => {
    const vt = new VirtualTime();
    const engine = new DeterministicEngine({ scheduler: vt.scheduler, imageSize: 4 });
    const src = new Subject<Frame>();
    const out = record(vt, src.pipe(embedFrames(engine, { maxBatch: 1, scheduler: vt.scheduler })));
    src.next({ camera: 'a', seq: 0, captureTs: 0, width: 8, height: 6, rgb: new Uint8Array(8 * 6 * 3).fill(128) });
    src.complete();
    await vt.runAll();
    expect(out.values).toHaveLength(1);
    expect(out.values[0].v.embedding).toHaveLength(4);
    expect(Number.isFinite(out.values[0].v.embedding[0])).toBe(true);
  });
});
