import { asyncScheduler, filter, map, type Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Engine } from '../engine/engine.js';
import { ConfigError, EngineError } from '../errors.js';
import { lifecycleOf } from './camera-lifecycle.js';
import { callEngine } from './call-engine.js';
import { preprocessFrames } from '../model/preprocess.js';
import type { CameraState, Frame, FrameEmbedding } from '../types.js';
import { microBatch } from './micro-batch.js';
import type { BatchStats } from '../instrumentation/stats.js';

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
  /** Frame -> `[3,S,S]`. Default: ActionCLIP's test transform, written straight into the batch (`preprocessFrames`). */
  readonly preprocess?: (frame: Frame, size: number) => Float32Array;
  /** Camera changes: a state that discards queued frames (see CAMERA_LIFECYCLE) empties the camera's queue. */
  readonly cameraStates?: Observable<CameraState>;
}

/** maxWaitMs 200: bench:cameras held one camera more than with 50 ms at the p99 bound (docs/cameras-per-machine.md). */
export const FRAME_BATCH_DEFAULTS = { maxBatch: 16, maxWaitMs: 200 } as const;

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
  const { info } = engine;
  if (info.joint || info.shift) {
    throw new ConfigError(
      `the ${info.joint ? 'Joint' : 'Shift'} image encoder mixes frames of a video, so frame embeddings cannot be cached and shared between sliding windows; use a model without Joint/Shift for live streams`,
    );
  }
  const maxBatch = options.maxBatch ?? FRAME_BATCH_DEFAULTS.maxBatch;
  const maxWaitMs = options.maxWaitMs ?? FRAME_BATCH_DEFAULTS.maxWaitMs;
  const queueCapacity = options.queueCapacity ?? 2 * maxBatch;
  const size = options.imageSize ?? info.clip.imageResolution;
  const pixelsPerFrame = 3 * size * size;
  const custom = options.preprocess;
  // The default writes each frame straight into the batch: one pass, no per-frame array to copy.
  const toPixels = (frames: Frame[]): Float32Array => {
    if (custom === undefined) return preprocessFrames(frames, size);
    const pixels = new Float32Array(frames.length * pixelsPerFrame);
    frames.forEach((f, i) => {
      const p = custom(f, size);
      if (p.length !== pixelsPerFrame) throw new EngineError(`preprocessed frame of camera ${f.camera} has ${p.length} values, the image encoder takes 3x${size}x${size}`, false);
      pixels.set(p, i * pixelsPerFrame);
    });
    return pixels;
  };

  return microBatch<Frame, FrameEmbedding>({
    maxBatch,
    maxWaitMs,
    queueCapacity,
    scheduler: options.scheduler ?? asyncScheduler,
    stats: options.stats,
    process: (frames) => encodeFrameBatch(engine, frames, toPixels),
    removals: options.cameraStates?.pipe(
      filter((s) => lifecycleOf(s.status).discardQueuedFrames),
      map((s) => s.camera),
    ),
  });
}

/**
 * One `encodeFrames` call for `frames`, now: their embeddings, in order. `toPixels` default:
 * ActionCLIP's test transform at the engine's resolution. For callers that batch themselves (the
 * fleet's infer role); embedFrames batches with it.
 */
export async function encodeFrameBatch(engine: Engine, frames: Frame[], toPixels = (f: Frame[]): Float32Array => preprocessFrames(f, engine.info.clip.imageResolution)): Promise<FrameEmbedding[]> {
  const n = frames.length;
  if (n === 0) return [];
  const dim = engine.info.clip.embedDim;
  const pixels = toPixels(frames);
  const out = await callEngine(() => engine.encodeFrames(pixels, n));
  if (out.length !== n * dim) throw new EngineError(`engine.encodeFrames returned ${out.length} values for ${n} frames of dimension ${dim}`, false);
  // Copies, not subarray views: a view would keep the whole batch's buffer alive as long as any
  // one frame sits in a window.
  return frames.map((f, i) => ({ camera: f.camera, seq: f.seq, captureTs: f.captureTs, embedding: out.slice(i * dim, (i + 1) * dim) }));
}
