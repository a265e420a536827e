import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTfjsEngine, type TfjsEngine } from '../../../src/engine/tfjs/tfjs-engine.js';
import { SHIFT_FOLD_DIV, temporalShift } from '../../../src/engine/tfjs/network/image-encoder.js';
import { HAVE_FIXTURES, maxAbsErrorRelative } from '../../support/fixtures.js';
import { referenceCases, referenceWeights } from '../../support/reference-weights.js';

/** The shift written as plain loops, straight from the paper's description. */
function naiveShift(x: Float32Array, b: number, t: number, l: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  const fold = Math.floor(w / SHIFT_FOLD_DIV);
  const at = (bi: number, ti: number, li: number, c: number) => (((bi * t + ti) * l + li) * w + c);
  for (let bi = 0; bi < b; bi++)
    for (let ti = 0; ti < t; ti++)
      for (let li = 0; li < l; li++)
        for (let c = 0; c < w; c++) {
          let v: number;
          if (li === 0) v = x[at(bi, ti, li, c)]; // CLS is not shifted
          else if (c < fold) v = ti + 1 < t ? x[at(bi, ti + 1, li, c)] : 0;
          else if (c < 2 * fold) v = ti > 0 ? x[at(bi, ti - 1, li, c)] : 0;
          else v = x[at(bi, ti, li, c)];
          out[at(bi, ti, li, c)] = v;
        }
  return out;
}

describe('temporal shift (in-network visual prompt)', () => {
  it('shifts 1/8 of the channels one frame back and 1/8 forward, zero-filled, CLS untouched', async () => {
    await tf.setBackend('wasm');
    const [b, t, l, w] = [2, 4, 3, 16];
    const data = Float32Array.from({ length: b * t * l * w }, (_, i) => i + 1);
    const got = tf.tidy(() => temporalShift(tf.tensor3d(data, [b * t, l, w]), t).dataSync());
    expect(Array.from(got)).toEqual(Array.from(naiveShift(data, b, t, l, w)));
  });
});

describe.skipIf(!HAVE_FIXTURES)('Joint and Shift image encoders on the reference weights', () => {
  let frames: Float32Array;
  const engines: TfjsEngine[] = [];
  const make = async (o: { joint?: boolean; shift?: boolean }) => {
    const e = await createTfjsEngine(await referenceWeights('meanP'), { backend: 'wasm', log: () => {}, ...o });
    engines.push(e);
    return e;
  };
  beforeAll(async () => {
    frames = (await referenceCases()).get('frames')!.data as Float32Array;
  });
  afterAll(() => engines.forEach((e) => e.dispose()));
  const video = (i: number) => frames.subarray(i * 8 * 3 * 32 * 32, (i + 1) * 8 * 3 * 32 * 32);

  it('Shift keeps videos apart: two videos in one batch equal each encoded alone, and differ from no shift', async () => {
    const shift = await make({ shift: true });
    const plain = await make({});
    const both = await shift.encodeFrames(frames, 16);
    const first = await shift.encodeFrames(video(0), 8);
    const second = await shift.encodeFrames(video(1), 8);
    expect(maxAbsErrorRelative(both.subarray(0, 8 * 64), first)).toBeLessThan(1e-5);
    expect(maxAbsErrorRelative(both.subarray(8 * 64), second)).toBeLessThan(1e-5);
    const noShift = await plain.encodeFrames(frames, 16);
    expect(maxAbsErrorRelative(both, noShift)).toBeGreaterThan(1e-2);
    await expect(shift.encodeFrames(frames.subarray(0, 3 * 3 * 32 * 32), 3)).rejects.toThrow(/multiple of T/);
  });

  it('Joint yields one embedding per video; frame order matters only through the temporal embedding', async () => {
    const joint = await make({ joint: true });
    expect(joint.info.joint).toBe(true);
    const out = await joint.encodeFrames(frames, 16);
    expect(out.length).toBe(2 * 64);
    // A zero temporal embedding (fresh module) makes the CLS output invariant to frame order.
    const reversed = new Float32Array(video(0).length);
    const f = 3 * 32 * 32;
    for (let i = 0; i < 8; i++) reversed.set(video(0).subarray((7 - i) * f, (8 - i) * f), i * f);
    const a = await joint.encodeFrames(video(0), 8);
    const r = await joint.encodeFrames(reversed, 8);
    expect(maxAbsErrorRelative(r, a)).toBeLessThan(1e-4);
    // With a learned temporal embedding the order is seen.
    const te = joint.params.get('visual.time_embedding');
    te.assign(tf.tidy(() => tf.randomNormal(te.shape, 0, 0.5, 'float32', 7)));
    const a2 = await joint.encodeFrames(video(0), 8);
    const r2 = await joint.encodeFrames(reversed, 8);
    expect(maxAbsErrorRelative(r2, a2)).toBeGreaterThan(1e-3);
  });
});
