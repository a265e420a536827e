import { firstValueFrom, from, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { fuseWindows, meanPool } from '../../src/stages/fuse-windows.js';
import type { Window } from '../../src/types.js';
import { DeterministicEngine } from '../support/deterministic-engine.js';
import { record, VirtualTime } from '../support/virtual-time.js';

const D = 2;
/** A window whose frame t has embedding [base + t, -(base + t)]. */
function win(camera: string, base: number, frames: number, start = base * 100): Window {
  const embeddings = new Float32Array(frames * D);
  for (let t = 0; t < frames; t++) embeddings.set([base + t, -(base + t)], t * D);
  return { camera, start, end: start + (frames - 1) * 100, firstSeq: base, frames, embeddings };
}

describe('fuseWindows', () => {
  it('fuses the windows due in the same tick in one engine.fuse call', async () => {
    const vt = new VirtualTime();
    const engine = new DeterministicEngine({ scheduler: vt.scheduler, dim: D, frames: 4, latencyMs: 3 });
    const m = '(abc)-----d-e--';
    const values = { a: win('a', 0, 4), b: win('b', 10, 4), c: win('c', 20, 4), d: win('a', 2, 4), e: win('b', 12, 4) };
    const out = record(vt, vt.hot(m, values).pipe(fuseWindows(engine, { scheduler: vt.scheduler })));
    await vt.runUntil(50);
    // (abc) at 0 share a call; d at 10 goes alone; e at 12 arrives while d is in flight (until 13)
    // and goes when it returns.
    expect(engine.callsOf('fuse').map((c) => [c.at, c.n])).toEqual([[0, 3], [10, 1], [13, 1]]);
    expect(out.values.map(({ t, v }) => [t, v.camera, v.firstSeq])).toEqual([
      [3, 'a', 0], [3, 'b', 10], [3, 'c', 20], [13, 'a', 2], [16, 'b', 12],
    ]);
    // meanP of frames base..base+3 is base+1.5
    expect(Array.from(out.values[1].v.embedding)).toEqual([11.5, -11.5]);
    expect(out.values[0].v).toMatchObject({ start: 0, end: 300, frames: 4 });
  });

  it('splits at maxBatch and batches windows that arrived during a call', async () => {
    const vt = new VirtualTime();
    const engine = new DeterministicEngine({ scheduler: vt.scheduler, dim: D, frames: 4, latencyMs: 10 });
    const m = '(abc)-(de)----';
    const values = { a: win('a', 0, 4), b: win('b', 0, 4), c: win('c', 0, 4), d: win('d', 0, 4), e: win('e', 0, 4) };
    const out = record(vt, vt.hot(m, values).pipe(fuseWindows(engine, { maxBatch: 2, maxWaitMs: 0, scheduler: vt.scheduler })));
    await vt.runUntil(100);
    expect(engine.callsOf('fuse').map((c) => [c.at, c.n])).toEqual([[0, 2], [10, 2], [20, 1]]);
    expect(out.values.map((x) => x.v.camera)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(engine.maxInFlight).toBe(1);
    out.unsubscribe();
    expect(vt.pending()).toBe(0);
  });

  it('with meanP, fuses windows of another length locally (no engine call)', async () => {
    const engine = new DeterministicEngine({ dim: D, frames: 8, head: 'meanP' });
    const out = await firstValueFrom(from([win('a', 0, 16)]).pipe(fuseWindows(engine, { window: 16 }), toArray()));
    expect(engine.calls).toHaveLength(0);
    expect(Array.from(out[0].embedding)).toEqual([7.5, -7.5]);
    expect(Array.from(meanPool(new Float32Array([1, 2, 3, 4]), 2))).toEqual([2, 3]);
  });

  it('refuses a window length other than T for heads other than meanP', () => {
    for (const head of ['Conv_1D', 'LSTM', 'Transf', 'Transf_cls'] as const) {
      expect(() => fuseWindows(new DeterministicEngine({ frames: 8, head }), { window: 16 })).toThrow(ConfigError);
      expect(() => fuseWindows(new DeterministicEngine({ frames: 8, head }), { window: 8 })).not.toThrow();
    }
  });

  it('errors on a window of the wrong size', async () => {
    const engine = new DeterministicEngine({ dim: D, frames: 4 });
    const src = new Subject<Window>();
    const p = firstValueFrom(src.pipe(fuseWindows(engine), toArray()));
    src.next(win('a', 0, 3));
    src.complete();
    await expect(p).rejects.toThrow(ConfigError);
  });
});
