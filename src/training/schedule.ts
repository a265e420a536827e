/**
 * Learning-rate schedule: linear warm-up over the first `warmupFraction` of the steps, then
 * cosine decay to zero at `totalSteps` (ActionCLIP's WarmupCosineAnnealingLR, per step instead of
 * per epoch so short few-shot runs still warm up smoothly).
 */
export interface ScheduleOptions {
  totalSteps: number;
  /** Fraction of the steps spent warming up (ActionCLIP: 5 of 50 epochs = 0.1). */
  warmupFraction?: number;
  /** Floor as a fraction of the base rate (ActionCLIP's final_factor; 0 = decay to zero). */
  finalFactor?: number;
}

/**
 * Multiplier of the base learning rate for optimiser step `step` (0-based). Warm-up uses
 * `(step+1)/warmup` so that the very first update is not wasted at rate zero.
 */
export function lrFactor(step: number, options: ScheduleOptions): number {
  const { totalSteps, warmupFraction = 0.1, finalFactor = 0 } = options;
  if (!(Number.isInteger(totalSteps) && totalSteps > 0)) throw new RangeError(`totalSteps must be a positive integer, got ${totalSteps}`);
  if (!(warmupFraction >= 0 && warmupFraction < 1)) throw new RangeError(`warmupFraction must be in [0, 1), got ${warmupFraction}`);
  if (!(Number.isInteger(step) && step >= 0)) throw new RangeError(`step must be a non-negative integer, got ${step}`);
  const warmup = Math.round(totalSteps * warmupFraction);
  if (step < warmup) return (step + 1) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, totalSteps - warmup));
  return finalFactor + (1 - finalFactor) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/** Convenience: the rate for `step` given a base rate. */
export function lrAt(step: number, baseLr: number, options: ScheduleOptions): number {
  return baseLr * lrFactor(step, options);
}
