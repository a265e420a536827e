/**
 * Counters the inference stages report to. Every method is optional so a caller wires only what it
 * exports (prom-client gauges, logs, tests). Stages call these synchronously; keep them cheap.
 */
export interface QueueStats {
  /** `n` items of `camera` were dropped (drop-oldest) because its queue was full. */
  onDrop?(camera: string, n: number): void;
  /** Queue depth of `camera` changed (after a push, a take or a removal). */
  onDepth?(camera: string, depth: number): void;
}

export interface BatchStats extends QueueStats {
  /**
   * One engine call finished: `size` items, `latencyMs` from call to result (measured on the
   * stage's scheduler clock, so 0-ish under virtual time).
   */
  onBatch?(size: number, latencyMs: number): void;
}
