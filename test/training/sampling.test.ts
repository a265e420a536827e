import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/training/rng.js';
import { sampleMultiClipIndices, sampleTestIndices, sampleTrainIndices } from '../../src/training/sampling.js';

describe('segment sampling (TSN / ActionCLIP)', () => {
  it('test indices are segment centres, as _get_val_indices computes them', () => {
    // n=80, T=8: segments of 10, offset (10-1)/2 = 4.5 → int(10i + 4.5).
    expect(sampleTestIndices(80, { segments: 8 })).toEqual([4, 14, 24, 34, 44, 54, 64, 74]);
    expect(sampleTestIndices(30, { segments: 4 })).toEqual([3, 10, 18, 25]);
    expect(sampleTestIndices(30, { segments: 1 })).toEqual([15]);
    // Short video: i*n//T.
    expect(sampleTestIndices(5, { segments: 8 })).toEqual([0, 0, 1, 1, 2, 3, 3, 4]);
  });
  it('training indices fall one in each segment, and vary with the seed', () => {
    const rng = createRng(3);
    const seen = new Set<string>();
    for (let trial = 0; trial < 50; trial++) {
      const idx = sampleTrainIndices(83, { segments: 8 }, rng);
      expect(idx).toHaveLength(8);
      idx.forEach((f, i) => {
        expect(f).toBeGreaterThanOrEqual(Math.floor((i * 83) / 8));
        expect(f).toBeLessThan(Math.floor(((i + 1) * 83) / 8));
      });
      seen.add(idx.join(','));
    }
    expect(seen.size).toBeGreaterThan(40);
    expect(sampleTrainIndices(83, { segments: 8 }, createRng(5))).toEqual(sampleTrainIndices(83, { segments: 8 }, createRng(5)));
  });
  it('short videos use every frame plus sorted random repeats', () => {
    const idx = sampleTrainIndices(5, { segments: 8 }, createRng(1));
    expect(idx).toHaveLength(8);
    expect(new Set(idx)).toEqual(new Set([0, 1, 2, 3, 4]));
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
  });
  it('supports seg_length > 1', () => {
    const idx = sampleTrainIndices(100, { segments: 4, segLength: 3 }, createRng(2));
    expect(idx).toHaveLength(12);
    for (let s = 0; s < 4; s++) expect(idx[s * 3 + 2] - idx[s * 3]).toBe(2);
    expect(sampleTestIndices(100, { segments: 4, segLength: 2 })).toEqual([11, 12, 36, 37, 61, 62, 86, 87]);
  });
  it('multi-clip sampling spreads 10 clips over the video', () => {
    const clips = sampleMultiClipIndices(160, { segments: 8, clips: 10 });
    expect(clips).toHaveLength(10);
    for (const c of clips) {
      expect(c).toHaveLength(8);
      for (const f of c) expect(f).toBeGreaterThanOrEqual(0);
      for (const f of c) expect(f).toBeLessThan(160);
    }
    // Segments of 20 frames cut in 10 sub-segments of 2; clip c takes int(2c + 2/2 - 1/2) = 2c
    // in each segment, the same rounding _get_val_indices uses for one clip.
    expect(clips.map((c) => c[0])).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(clips[3]).toEqual([6, 26, 46, 66, 86, 106, 126, 146]);
    expect(new Set(clips.map((c) => c.join(','))).size).toBe(10);
    expect(sampleMultiClipIndices(80, { segments: 8, clips: 1 })).toEqual([sampleTestIndices(80, { segments: 8 })]);
  });
  it('rejects bad arguments', () => {
    expect(() => sampleTestIndices(0, { segments: 8 })).toThrow(RangeError);
    expect(() => sampleTrainIndices(10, { segments: 0 }, createRng(1))).toThrow(RangeError);
    expect(() => sampleMultiClipIndices(10, { segments: 2, clips: 0 })).toThrow(RangeError);
  });
});
