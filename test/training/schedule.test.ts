import { describe, expect, it } from 'vitest';
import { lrAt, lrFactor } from '../../src/training/schedule.js';

describe('warm-up + cosine schedule', () => {
  const opts = { totalSteps: 100, warmupFraction: 0.1 };
  it('warms up linearly over the first 10% of steps', () => {
    expect(lrFactor(0, opts)).toBeCloseTo(0.1, 12);
    expect(lrFactor(4, opts)).toBeCloseTo(0.5, 12);
    expect(lrFactor(9, opts)).toBeCloseTo(1, 12);
  });
  it('decays along a cosine to zero at the end', () => {
    expect(lrFactor(10, opts)).toBeCloseTo(1, 12);
    // Half-way through the decay: cos(pi/2) → 0.5.
    expect(lrFactor(55, opts)).toBeCloseTo(0.5, 12);
    expect(lrFactor(100, opts)).toBeCloseTo(0, 12);
    expect(lrFactor(1000, opts)).toBeCloseTo(0, 12);
    for (let s = 10; s < 100; s++) expect(lrFactor(s + 1, opts)).toBeLessThanOrEqual(lrFactor(s, opts));
    expect(lrAt(55, 2e-5, opts)).toBeCloseTo(1e-5, 15);
  });
  it('handles no warm-up, a final floor and bad input', () => {
    expect(lrFactor(0, { totalSteps: 10, warmupFraction: 0 })).toBe(1);
    expect(lrFactor(10, { totalSteps: 10, warmupFraction: 0, finalFactor: 0.1 })).toBeCloseTo(0.1, 12);
    expect(() => lrFactor(0, { totalSteps: 0 })).toThrow(RangeError);
    expect(() => lrFactor(-1, opts)).toThrow(RangeError);
    expect(() => lrFactor(0, { totalSteps: 5, warmupFraction: 1 })).toThrow(RangeError);
  });
});
