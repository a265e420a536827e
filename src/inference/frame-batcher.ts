import type { OperatorFunction, SchedulerLike, Observable } from 'rxjs';
import type { Engine } from '../engine/engine.js';
import type { CameraState, Frame, FrameEmbedding } from '../types.js';
import type { BatchStats } from './stats.js';

export interface EmbedFramesOptions {
  /** Most frames per `encodeFrames` call. Default 16. */
  readonly maxBatch?: number;
  /** Longest a frame waits for a batch to fill before a partial batch is sent. Default 50 ms. */
  readonly maxWaitMs?: number;
  /** Frames kept per camera while the engine is busy; older ones are dropped (counted). Default 2*maxBatch. */
  readonly queueCapacity?: number;
  /** Model input size S. Default `engine.info.clip.imageResolution`. */
  readonly imageSize?: number;
  /** Clock for max-wait timers and latency. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  readonly stats?: BatchStats;
  /** Frame -> `[3,S,S]`. Default `preprocessFrame(rgb, width, height, S)` (ActionCLIP's test transform). */
  readonly preprocess?: (frame: Frame, size: number) => Float32Array;
  /** Camera changes: a camera that is `stopped` has its waiting frames discarded. */
  readonly cameraStates?: Observable<CameraState>;
}

/**
 * The frame micro-batcher, one across all cameras: frames wait in bounded per-camera queues
 * (drop-oldest), are taken round-robin, preprocessed only when taken (dropped frames cost nothing),
 * and sent as one `encodeFrames` call when `maxBatch` are waiting or the oldest has waited
 * `maxWaitMs`. Never more than one call is in flight; while it runs, frames queue (and drop).
 * Emits one FrameEmbedding per encoded frame, per-camera order preserved.
 *
 * The source completing flushes what is queued, then completes. An engine error errors the stream.
 * Unsubscribing cancels timers and discards queues (an in-flight call's result is ignored).
 *
 * @throws ConfigError when the engine's image encoder is not frame-independent (Joint or Shift):
 *   then frames cannot be encoded once and shared between windows.
 */
export function embedFrames(engine: Engine, options: EmbedFramesOptions = {}): OperatorFunction<Frame, FrameEmbedding> {
  void engine;
  void options;
  throw new Error('not implemented');
}
