import { beforeAll, describe, expect, it } from 'vitest';
import { CLIP_MEAN, CLIP_STD, preprocessFrame, preprocessFrames, resizeBicubicPIL, resizedSize, roundHalfEven } from '../../src/model/preprocess.js';
import { readSafetensors } from '../../src/model/weights/safetensors.js';
import { fixture, HAVE_FIXTURES, maxAbsError } from '../support/fixtures.js';


function meanAbsError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

describe('preprocess helpers', () => {
  it('rounds half to even like Python', () => {
    expect([0.5, 1.5, 2.5, 58.5, -0.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 58, -0, 2, 3]);
  });

  it('computes torchvision Resize(int) output sizes', () => {
    expect(resizedSize(640, 480, 256)).toEqual({ width: 341, height: 256 });
    expect(resizedSize(270, 360, 256)).toEqual({ width: 256, height: 341 });
    expect(resizedSize(300, 300, 256)).toEqual({ width: 256, height: 256 });
  });

  it('keeps a constant image constant, shrinking and enlarging', () => {
    const img = new Uint8Array(37 * 23 * 3).fill(200);
    for (const [w, h] of [[10, 7], [80, 50]]) {
      const out = resizeBicubicPIL(img, 37, 23, w, h);
      expect(out.length).toBe(w * h * 3);
      expect(out.every((v) => v === 200)).toBe(true);
    }
  });

  it('upscales a small image to [3,224,224] with sane values', () => {
    const w = 16;
    const h = 12;
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb.set([x * 16, y * 20, 128], (y * w + x) * 3);
    const t = preprocessFrame(rgb, w, h);
    expect(t.length).toBe(3 * 224 * 224);
    // Every value lies in the range a byte can normalise to, per channel.
    const plane = 224 * 224;
    for (const c of [0, 1, 2]) {
      const ch = t.subarray(c * plane, (c + 1) * plane);
      const lo = (0 - CLIP_MEAN[c]) / CLIP_STD[c] - 1e-5;
      const hi = (1 - CLIP_MEAN[c]) / CLIP_STD[c] + 1e-5;
      expect(ch.every((v) => v >= lo && v <= hi)).toBe(true);
    }
    // The blue channel was constant 128 → constant after resize.
    const blue = (128 / 255 - CLIP_MEAN[2]) / CLIP_STD[2];
    expect(Math.abs(t[2 * 224 * 224 + 1000] - blue)).toBeLessThan(1e-5);
    // Red grows left to right.
    expect(t[100 * 224 + 200]).toBeGreaterThan(t[100 * 224 + 20]);
  });
});

describe.skipIf(!HAVE_FIXTURES)('preprocess vs the reference (PIL + torchvision)', () => {
  let tensors: Awaited<ReturnType<typeof readSafetensors>>['tensors'];
  beforeAll(async () => {
    tensors = (await readSafetensors(fixture('preprocess.safetensors'))).tensors;
  });

  for (const i of [0, 1, 2]) {
    it(`matches expected.${i}`, () => {
      const src = tensors.get(`rgb.${i}`)!;
      const [h, w] = src.shape;
      const rgb = Uint8Array.from(src.data as Float32Array);
      const got = preprocessFrame(rgb, w, h);
      const exp = tensors.get(`expected.${i}`)!.data as Float32Array;
      const mean = meanAbsError(got, exp);
      const max = maxAbsError(got, exp);
      console.log(`[preprocess] image ${i} (${w}x${h}): mean abs err ${mean.toExponential(3)}, max abs err ${max.toExponential(3)}`);
      expect(mean).toBeLessThanOrEqual(2e-3);
      expect(max).toBeLessThanOrEqual(0.05);
    });
  }

  it('batches frames into [n,3,224,224]', () => {
    const frames = [0, 1, 2].map((i) => {
      const src = tensors.get(`rgb.${i}`)!;
      return { rgb: Uint8Array.from(src.data as Float32Array), width: src.shape[1], height: src.shape[0] };
    });
    const batch = preprocessFrames(frames);
    expect(batch.length).toBe(3 * 3 * 224 * 224);
    const plane = 3 * 224 * 224;
    for (const i of [0, 1, 2]) {
      const exp = tensors.get(`expected.${i}`)!.data as Float32Array;
      expect(maxAbsError(batch.subarray(i * plane, (i + 1) * plane), exp)).toBeLessThanOrEqual(0.05);
    }
  });
});
