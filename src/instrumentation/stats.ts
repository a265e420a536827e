import type { EngineStage, Instrumentation, QueueStage } from './instrumentation.js';

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

/** Hooks of a queue that report to an Instrumentation. */
export function queueHooks(instrumentation: Instrumentation, stage: QueueStage): QueueStats {
  return {
    onDrop: (camera, count) => instrumentation.emit('queue.dropped', { stage, camera, count }),
    onDepth: (camera, depth) => instrumentation.emit('queue.depth', { stage, camera, depth }),
  };
}

/** Hooks of a batching stage (its queue and its engine calls) that report to an Instrumentation. */
export function batchHooks(instrumentation: Instrumentation, stage: EngineStage): BatchStats {
  return {
    ...queueHooks(instrumentation, stage === 'encoder' ? 'frames' : 'windows'),
    onBatch: (size, latencyMs) => instrumentation.emit('engine.batch', { stage, size, latencyMs }),
  };
}
