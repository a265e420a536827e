import { map, Observable, type OperatorFunction } from 'rxjs';
import { ConfigError, EngineError } from '../errors.js';
import { lifecycleOf } from './camera-lifecycle.js';
import type { CameraState, FrameEmbedding, Window } from '../types.js';

export interface SlidingWindowOptions {
  /** Frames per window W (ActionCLIP uses 8, 16 or 32; any integer >= 1 is accepted). */
  readonly window: number;
  /** Frames between consecutive windows of a camera (>= 1; W = non-overlapping). Default W/2 (rounded up). */
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
  /** A camera whose state resets windows (see CAMERA_LIFECYCLE) has its buffer dropped at once (frees memory). */
  readonly cameraStates?: Observable<CameraState>;
}

export const WINDOW_DEFAULTS = { maxGapMs: 5000, maxSeqGap: Infinity } as const;
/** Longer than any frame spends in the encoder's queue and call. */
const LATE_FRAME_MS = 60_000;


export interface Sequenced {
  readonly camera: string;
  readonly seq: number;
  readonly captureTs: number;
}

interface CameraRing<T> {
  readonly items: T[];
  /** Index of the oldest item in `items` once full. */
  head: number;
  /** Frames since the last reset. */
  count: number;
  lastSeq: number;
  lastTs: number;
}

function resolveOptions(options: SlidingWindowOptions): Required<Omit<SlidingWindowOptions, 'cameraStates'>> {
  const { window } = options;
  if (!Number.isInteger(window) || window < 1) throw new ConfigError(`window must be an integer number of frames >= 1 (8, 16 or 32), got ${window}`);
  const stride = options.stride ?? Math.ceil(window / 2);
  if (!Number.isInteger(stride) || stride < 1) throw new ConfigError(`stride must be an integer >= 1, got ${stride}`);
  const maxGapMs = options.maxGapMs ?? WINDOW_DEFAULTS.maxGapMs;
  const maxSeqGap = options.maxSeqGap ?? WINDOW_DEFAULTS.maxSeqGap;
  if (!(maxGapMs > 0)) throw new ConfigError(`maxGapMs must be > 0, got ${maxGapMs}`);
  if (!(maxSeqGap >= 1)) throw new ConfigError(`maxSeqGap must be >= 1, got ${maxSeqGap}`);
  return { window, stride, maxGapMs, maxSeqGap };
}

/**
 * The per-camera ring buffer shared by both modes: emits the W buffered items, oldest first, every
 * `stride` items once W are buffered, resetting as documented on slidingWindows.
 */
export function slidingGroups<T extends Sequenced>(options: SlidingWindowOptions): OperatorFunction<T, T[]> {
  const { window: W, stride, maxGapMs, maxSeqGap } = resolveOptions(options);
  return (source) =>
    new Observable<T[]>((subscriber) => {
      const rings = new Map<string, CameraRing<T>>();
      // When each camera was last reset. The buffer goes at the first frame captured after it, not at
      // once: frames captured before the outage that were still in the encoder's batch when it was
      // noticed complete the old buffer's windows (no window lost) and never join the new ones.
      const resetAt = new Map<string, number>();
      // A camera that is gone: its buffer is freed at once and late frames captured before are ignored.
      const goneAt = new Map<string, number>();
      // No frame is a minute late: older marks of cameras without a buffer go (ids come and go for weeks).
      // Defined before the states are subscribed: a states stream may emit as it is subscribed.
      const forgetOld = (before: number): void => {
        for (const marks of [resetAt, goneAt]) for (const [camera, t] of marks) if (t < before && !rings.has(camera)) marks.delete(camera);
      };
      const stateSub = options.cameraStates?.subscribe((s) => {
        const effect = lifecycleOf(s.status);
        if (!effect.resetWindows) return;
        if (effect.discardQueuedFrames) {
          rings.delete(s.camera);
          goneAt.set(s.camera, s.since);
        } else resetAt.set(s.camera, s.since);
        forgetOld(s.since - LATE_FRAME_MS);
      });
      const sub = source.subscribe({
        next: (item) => {
          if (item.captureTs < (goneAt.get(item.camera) ?? -Infinity)) return;
          let ring = rings.get(item.camera);
          const reset = resetAt.get(item.camera);
          if (ring !== undefined && reset !== undefined && item.captureTs >= reset) ring = undefined;
          if (ring !== undefined) {
            const seqGap = item.seq - ring.lastSeq;
            // seq not increasing: the source restarted its numbering; a big gap in time or seq: an
            // outage. Either way the buffered frames do not belong with the new ones.
            if (seqGap <= 0 || seqGap > maxSeqGap || item.captureTs - ring.lastTs > maxGapMs) ring = undefined;
          }
          if (ring === undefined) {
            ring = { items: [], head: 0, count: 0, lastSeq: item.seq, lastTs: item.captureTs };
            rings.set(item.camera, ring);
            if (reset !== undefined && item.captureTs >= reset) resetAt.delete(item.camera);
          }
          if (ring.items.length < W) {
            ring.items.push(item);
          } else {
            ring.items[ring.head] = item;
            ring.head = (ring.head + 1) % W;
          }
          ring.count++;
          ring.lastSeq = item.seq;
          ring.lastTs = item.captureTs;
          if (ring.count >= W && (ring.count - W) % stride === 0) {
            const group = new Array<T>(W);
            for (let i = 0; i < W; i++) group[i] = ring.items[(ring.head + i) % W];
            subscriber.next(group);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        sub.unsubscribe();
        stateSub?.unsubscribe();
        rings.clear();
        resetAt.clear();
        goneAt.clear();
      };
    });
}

export function toWindow(frames: readonly Sequenced[], embeddings: Float32Array): Window {
  const first = frames[0];
  const last = frames[frames.length - 1];
  return { camera: first.camera, start: first.captureTs, end: last.captureTs, firstSeq: first.seq, frames: frames.length, embeddings };
}

/**
 * Per-camera ring buffer of frame embeddings -> a Window every `stride` frames once `window` frames
 * are buffered. Each frame embedding is encoded once and shared by every window that holds it (the
 * window copies the W rows into its own `[W,D]` array; nothing is re-encoded).
 *
 * Reset (buffer dropped, counting starts again, so the next window comes W frames later): seq going
 * backwards or repeating (the source restarted), a capture-time gap over `maxGapMs`, a seq gap over
 * `maxSeqGap`, or a camera state change as above. A user sees no window mixing frames from before
 * and after an outage, and a fresh window W frames after the camera is back.
 *
 * `start`/`end` are the capture times of the window's first and last frame.
 */
export function slidingWindows(options: SlidingWindowOptions): OperatorFunction<FrameEmbedding, Window> {
  const groups = slidingGroups<FrameEmbedding>(options); // validates now, not at subscribe
  return (source) =>
    source.pipe(
      groups,
      map((group) => {
        const dim = group[0].embedding.length;
        const embeddings = new Float32Array(group.length * dim);
        group.forEach((f, i) => {
          if (f.embedding.length !== dim) throw new EngineError(`camera ${f.camera}: frame ${f.seq} has embedding dimension ${f.embedding.length}, expected ${dim}`, false);
          embeddings.set(f.embedding, i * dim);
        });
        return toWindow(group, embeddings);
      }),
    );
}
