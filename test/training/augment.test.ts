import { describe, expect, it } from 'vitest';
import { CLIP_MEAN, CLIP_STD, preprocessFrame } from '../../src/model/preprocess.js';
import {
  applyAugmentParams,
  augmentTrainClip,
  sampleAugmentParams,
  sampleMultiScaleCrop,
  testTransformClip,
  threeCropClip,
  type AugmentParams,
} from '../../src/training/augment.js';
import type { RgbImage } from '../../src/training/image.js';
import { createRng } from '../../src/training/rng.js';

function image(width: number, height: number, f: (x: number, y: number, c: number) => number): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) rgb[(y * width + x) * 3 + c] = f(x, y, c);
  return { width, height, rgb };
}

/** Undo CLIP normalisation of channel c. */
const raw = (v: number, c: number): number => v * CLIP_STD[c] + CLIP_MEAN[c];

const NONE: Omit<AugmentParams, 'crop'> = { flip: false, jitter: [], grayscale: false };

describe('multi-scale crop (GroupMultiScaleCrop)', () => {
  it('draws crop sides from the scales with aspect distortion at most one step, at fixed offsets', () => {
    const rng = createRng(11);
    const sides = [256, 224, 192, 168]; // int(256 * [1, .875, .75, .66])
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const c = sampleMultiScaleCrop(340, 256, 224, rng);
      const wi = sides.indexOf(c.width);
      const hi = sides.indexOf(c.height);
      expect(wi).toBeGreaterThanOrEqual(0);
      expect(hi).toBeGreaterThanOrEqual(0);
      expect(Math.abs(wi - hi)).toBeLessThanOrEqual(1);
      expect(c.x + c.width).toBeLessThanOrEqual(340);
      expect(c.y + c.height).toBeLessThanOrEqual(256);
      const ws = Math.trunc((340 - c.width) / 4);
      const hs = Math.trunc((256 - c.height) / 4);
      expect(c.x % Math.max(1, ws)).toBe(0);
      expect(c.y % Math.max(1, hs)).toBe(0);
      seen.add(`${c.width}x${c.height}`);
    }
    expect(seen.size).toBe(10); // 4 + 3 + 3 pairs
  });
});

describe('train augmentation', () => {
  const frames = [0, 1, 2, 3].map((t) => image(80, 60, (x, y, c) => (x * 3 + y * 2 + c * 40 + t * 5) % 256));

  it('is reproducible from the seed and has the model shape', () => {
    const a = augmentTrainClip(frames, createRng(4), { size: 32 });
    const b = augmentTrainClip(frames, createRng(4), { size: 32 });
    expect(a.length).toBe(4 * 3 * 32 * 32);
    expect(a).toEqual(b);
    expect(augmentTrainClip(frames, createRng(5), { size: 32 })).not.toEqual(a);
  });

  it('applies one set of random choices to every frame of the clip', () => {
    const same = [0, 1, 2].map(() => frames[0]);
    for (let seed = 0; seed < 20; seed++) {
      const out = augmentTrainClip(same, createRng(seed), { size: 24 });
      const n = 3 * 24 * 24;
      expect(out.subarray(n, 2 * n)).toEqual(out.subarray(0, n));
      expect(out.subarray(2 * n)).toEqual(out.subarray(0, n));
    }
  });

  it('flip off never flips; on, about half the clips', () => {
    const off = Array.from({ length: 200 }, (_, i) => sampleAugmentParams(80, 60, createRng(i), { size: 32, flip: false }).flip);
    expect(off.some(Boolean)).toBe(false);
    const on = Array.from({ length: 200 }, (_, i) => sampleAugmentParams(80, 60, createRng(i), { size: 32 }).flip).filter(Boolean).length;
    expect(on).toBeGreaterThan(70);
    expect(on).toBeLessThan(130);
    // Turning flip off changes nothing else.
    const a = sampleAugmentParams(80, 60, createRng(9), { size: 32 });
    const b = sampleAugmentParams(80, 60, createRng(9), { size: 32, flip: false });
    expect({ ...a, flip: false }).toEqual(b);
  });

  it('jitter comes at p≈0.8 with factors in ActionCLIP ranges; grayscale at p≈0.2', () => {
    let jittered = 0;
    let grey = 0;
    for (let i = 0; i < 500; i++) {
      const p = sampleAugmentParams(80, 60, createRng(1000 + i), { size: 32 });
      if (p.jitter.length > 0) jittered++;
      if (p.grayscale) grey++;
      for (const { op, factor } of p.jitter) {
        if (op === 'hue') expect(Math.abs(factor)).toBeLessThanOrEqual(0.1);
        else if (op === 'saturation') expect(Math.abs(factor - 1)).toBeLessThanOrEqual(0.2);
        else expect(Math.abs(factor - 1)).toBeLessThanOrEqual(0.4);
      }
    }
    expect(jittered / 500).toBeGreaterThan(0.72);
    expect(jittered / 500).toBeLessThan(0.88);
    expect(grey / 500).toBeGreaterThan(0.14);
    expect(grey / 500).toBeLessThan(0.26);
    const none = sampleAugmentParams(80, 60, createRng(1), { size: 32, colorJitter: false, grayscale: 0 });
    expect(none.jitter).toEqual([]);
    expect(none.grayscale).toBe(false);
  });

  it('crop, flip, brightness, hue and grayscale do what they say', () => {
    const img = image(8, 8, (x, y, c) => (c === 0 ? 200 : c === 1 ? x * 10 : y * 10));
    const crop = { x: 2, y: 1, width: 4, height: 4 };
    const size = 4;
    const at = (out: Float32Array, c: number, x: number, y: number): number => raw(out[c * size * size + y * size + x], c) * 255;
    const plain = applyAugmentParams([img], { ...NONE, crop }, size);
    expect(at(plain, 1, 0, 0)).toBeCloseTo(20, 3); // column x=2
    expect(at(plain, 2, 0, 0)).toBeCloseTo(10, 3); // row y=1
    const flipped = applyAugmentParams([img], { ...NONE, crop, flip: true }, size);
    expect(at(flipped, 1, 0, 0)).toBeCloseTo(50, 3); // column x=5
    const dark = applyAugmentParams([img], { ...NONE, crop, jitter: [{ op: 'brightness', factor: 0.5 }] }, size);
    expect(at(dark, 0, 1, 1)).toBeCloseTo(100, 3);
    expect(at(dark, 1, 1, 1)).toBeCloseTo(15, 3);
    const grey = applyAugmentParams([img], { ...NONE, crop, grayscale: true }, size);
    expect(at(grey, 0, 2, 2)).toBeCloseTo(at(grey, 1, 2, 2), 3);
    expect(at(grey, 0, 2, 2)).toBeCloseTo(0.2989 * 200 + 0.587 * 40 + 0.114 * 30, 3);
    // A third of a turn takes pure red to pure green.
    const red = image(4, 4, (_x, _y, c) => (c === 0 ? 255 : 0));
    const green = applyAugmentParams([red], { ...NONE, crop: { x: 0, y: 0, width: 4, height: 4 }, jitter: [{ op: 'hue', factor: 1 / 3 }] }, 4);
    expect([at(green, 0, 0, 0), at(green, 1, 0, 0), at(green, 2, 0, 0)].map((v) => Math.round(v) + 0)).toEqual([0, 255, 0]);
  });

  it('rejects clips with frames of different sizes', () => {
    expect(() => augmentTrainClip([frames[0], image(10, 10, () => 0)], createRng(1), { size: 8 })).toThrow(/one size/);
  });
});

describe('test-time views', () => {
  it('single view is the inference preprocessing', () => {
    const f = image(70, 50, (x, y, c) => (x * 7 + y * 3 + c * 50) % 256);
    const out = testTransformClip([f, f], 32);
    expect(out.subarray(0, 3 * 32 * 32)).toEqual(preprocessFrame(f.rgb, 70, 50, 32));
    expect(out.subarray(3 * 32 * 32)).toEqual(preprocessFrame(f.rgb, 70, 50, 32));
  });

  it('three crops sit at the left, centre and right of a landscape frame', () => {
    const f = image(96, 64, (x, _y, c) => (c === 0 ? x * 2 : 0));
    const views = threeCropClip([f], 64);
    expect(views).toHaveLength(3);
    const firstRed = (v: Float32Array): number => Math.round(raw(v[0], 0) * 255) / 2 + 0;
    expect(views.map(firstRed)).toEqual([0, 16, 32]);
  });

  it('and at the top, centre and bottom of a portrait frame', () => {
    const f = image(64, 100, (_x, y, c) => (c === 1 ? y * 2 : 0));
    const views = threeCropClip([f], 64);
    const plane = 64 * 64;
    const firstGreen = (v: Float32Array): number => Math.round(raw(v[plane], 1) * 255) / 2 + 0;
    expect(views.map(firstGreen)).toEqual([0, 18, 36]);
  });
});
