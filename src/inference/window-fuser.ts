import type { OperatorFunction, SchedulerLike } from 'rxjs';
import type { Engine } from '../engine/engine.js';
import type { VideoEmbedding, Window } from '../types.js';
import type { BatchStats } from './stats.js';

export interface FuseWindowsOptions {
  /** Frames per window W (as given to slidingWindows). Default `engine.info.frames`. */
  readonly window?: number;
  /** Most windows per `engine.fuse` call. Default 16. */
  readonly maxBatch?: number;
  /** Longest a window waits for a batch. Default 0: windows due in the same tick share one call. */
  readonly maxWaitMs?: number;
  /** Windows kept per camera while the engine is busy (drop-oldest, counted). Default 4*maxBatch. */
  readonly queueCapacity?: number;
  readonly scheduler?: SchedulerLike;
  readonly stats?: BatchStats;
}

/**
 * The temporal head over windows, micro-batched like the frame batcher: `[b,T,D]` -> `[b,D]` in one
 * `engine.fuse` call, one call in flight.
 *
 * The heads are built for T = `engine.info.frames` frames. A window of another length W is only
 * meaningful for meanP (a mean has no positional embeddings or fixed kernel), and is then fused here
 * as the mean over its W frames without an engine call.
 *
 * @throws ConfigError when W != T and the head is not meanP.
 */
export function fuseWindows(engine: Engine, options: FuseWindowsOptions = {}): OperatorFunction<Window, VideoEmbedding> {
  void engine;
  void options;
  throw new Error('not implemented');
}
