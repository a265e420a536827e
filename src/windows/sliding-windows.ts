import type { Observable, OperatorFunction } from 'rxjs';
import type { Engine } from '../engine/engine.js';
import type { CameraState, Frame, FrameEmbedding, Window } from '../types.js';

export interface SlidingWindowOptions {
  /** Frames per window W (ActionCLIP uses 8, 16 or 32). */
  readonly window: number;
  /** Frames between consecutive windows of a camera (1..W; W = non-overlapping). Default W/2. */
  readonly stride?: number;
  /**
   * A camera's buffer is dropped when two consecutive frames are further apart than this (capture
   * time): the camera stalled or reconnected, and a window must not join two unrelated moments.
   * Default 5000 ms.
   */
  readonly maxGapMs?: number;
  /**
   * Drop the buffer when seq jumps by more than this (frames lost upstream). Default Infinity:
   * gaps from fps sampling and drop-oldest under load are expected and are NOT a reset, otherwise
   * an overloaded pipeline would never emit a window.
   */
  readonly maxSeqGap?: number;
  /** A camera that is `stopped`, `reconnecting` or `connecting` has its buffer dropped at once (frees memory). */
  readonly cameraStates?: Observable<CameraState>;
}

/**
 * Per-camera ring buffer of frame embeddings -> a Window every `stride` frames once `window` frames
 * are buffered. Each frame embedding is encoded once and shared by every window that holds it (the
 * window copies the W row references into its `[W,D]` array; nothing is re-encoded).
 *
 * Reset (buffer dropped, counting starts again, so the next window comes W frames later): seq going
 * backwards or repeating (the source restarted), a capture-time gap over `maxGapMs`, a seq gap over
 * `maxSeqGap`, or a camera state change as above. A user sees no window mixing frames from before
 * and after an outage, and a fresh window W frames after the camera is back.
 *
 * `start`/`end` are the capture times of the window's first and last frame.
 */
export function slidingWindows(options: SlidingWindowOptions): OperatorFunction<FrameEmbedding, Window> {
  void options;
  throw new Error('not implemented');
}

export interface WindowsWithoutCacheOptions extends SlidingWindowOptions {
  /** Model input size S. Default `engine.info.clip.imageResolution`. */
  readonly imageSize?: number;
  readonly preprocess?: (frame: Frame, size: number) => Float32Array;
}

/**
 * The baseline without an embedding cache, for benchmarks only: buffers raw frames and, for every
 * window, preprocesses and encodes all W frames again (one `encodeFrames` call per window), so each
 * frame is encoded about W/stride times. Same windows as `embedFrames` + `slidingWindows`.
 */
export function windowsWithoutCache(engine: Engine, options: WindowsWithoutCacheOptions): OperatorFunction<Frame, Window> {
  void engine;
  void options;
  throw new Error('not implemented');
}
