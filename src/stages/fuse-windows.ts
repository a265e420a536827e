import { asyncScheduler, map, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Engine } from '../engine/engine.js';
import { ConfigError, EngineError } from '../errors.js';
import { callEngine } from './call-engine.js';
import type { VideoEmbedding, Window } from '../types.js';
import { microBatch } from './micro-batch.js';
import type { BatchStats } from '../instrumentation/stats.js';

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

export const FUSE_DEFAULTS = { maxBatch: 16, maxWaitMs: 0 } as const;

function videoEmbedding(w: Window, embedding: Float32Array): VideoEmbedding {
  return { camera: w.camera, start: w.start, end: w.end, firstSeq: w.firstSeq, frames: w.frames, embedding };
}

/** meanP: the mean over the window's frames (`x.mean(dim=1)` in ActionCLIP's visual_prompt). */
export function meanPool(embeddings: Float32Array, frames: number): Float32Array {
  const dim = embeddings.length / frames;
  const out = new Float32Array(dim);
  for (let t = 0; t < frames; t++) for (let d = 0; d < dim; d++) out[d] += embeddings[t * dim + d];
  for (let d = 0; d < dim; d++) out[d] /= frames;
  return out;
}

/** Throws ConfigError when windows of W frames cannot be fused by this engine's head. */
function checkWindowLength(engine: Engine, W: number): void {
  const { info } = engine;
  if (W !== info.frames && info.head !== 'meanP') {
    throw new ConfigError(
      `window of ${W} frames but the ${info.head} head was built for ${info.frames} frames; use window ${info.frames}, or the meanP head (the only one valid for any window length)`,
    );
  }
}

function checkWindow(w: Window, W: number, dim: number): void {
  if (w.frames !== W || w.embeddings.length !== W * dim) {
    throw new ConfigError(`window of camera ${w.camera} has ${w.frames} frames (${w.embeddings.length} values), expected ${W} frames of dimension ${dim}`);
  }
}

/**
 * Fuses `windows` of W frames now, in one `engine.fuse` call (W = T), or as means without an engine
 * call (meanP on another length). For callers that batch themselves (the fleet's infer role).
 * @throws ConfigError when W != T and the head is not meanP.
 */
export async function fuseWindowBatch(engine: Engine, windows: readonly Window[], W: number): Promise<VideoEmbedding[]> {
  checkWindowLength(engine, W);
  const T = engine.info.frames;
  const dim = engine.info.clip.embedDim;
  for (const w of windows) checkWindow(w, W, dim);
  if (W !== T) return windows.map((w) => videoEmbedding(w, meanPool(w.embeddings, W)));
  const b = windows.length;
  if (b === 0) return [];
  const input = new Float32Array(b * T * dim);
  windows.forEach((w, i) => input.set(w.embeddings, i * T * dim));
  const out = await callEngine(() => engine.fuse(input, b));
  if (out.length !== b * dim) throw new EngineError(`engine.fuse returned ${out.length} values for ${b} windows of dimension ${dim}`, false);
  return windows.map((w, i) => videoEmbedding(w, out.slice(i * dim, (i + 1) * dim)));
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
  const W = options.window ?? engine.info.frames;
  checkWindowLength(engine, W);
  if (W !== engine.info.frames) {
    // meanP on another length: a mean is cheap and exact in JS, no engine call or batching needed.
    const dim = engine.info.clip.embedDim;
    return map((w: Window) => {
      checkWindow(w, W, dim);
      return videoEmbedding(w, meanPool(w.embeddings, W));
    });
  }
  const maxBatch = options.maxBatch ?? FUSE_DEFAULTS.maxBatch;
  return microBatch<Window, VideoEmbedding>({
    maxBatch,
    maxWaitMs: options.maxWaitMs ?? FUSE_DEFAULTS.maxWaitMs,
    queueCapacity: options.queueCapacity ?? 4 * maxBatch,
    scheduler: options.scheduler ?? asyncScheduler,
    stats: options.stats,
    process: (windows) => fuseWindowBatch(engine, windows, W),
  });
}
