import type { Observable, OperatorFunction, SchedulerLike } from 'rxjs';
import type { CameraState, Vocabulary, WindowResult } from '../types.js';
import type { Detection, Unstamped, WindowMessage, CameraMessage } from './schema.js';

export interface EventTrackerOptions {
  /** Model name put in every message (e.g. `ViT-B/16+Transf`). */
  readonly model: string;
  /** A label's probability must reach this to count towards a start. Default 0.5. */
  readonly enterThreshold?: number;
  /** An active event counts towards its end while the probability is below this. Default = enterThreshold. Must be <= enterThreshold. */
  readonly exitThreshold?: number;
  /** Consecutive windows at or above enterThreshold before `start`. Default 2. */
  readonly minWindows?: number;
  /** Consecutive windows below exitThreshold before `end`. Default 2. */
  readonly cooldownWindows?: number;
  /** ...and at least this much capture time since the first such window. Default 0. */
  readonly cooldownMs?: number;
  /** An `update` every this many windows while active; 0 = none. Default 1. */
  readonly updateEvery?: number;
  /** Also emit a `window` message for every scored window. Default false. */
  readonly emitWindows?: boolean;
  /** Stopped cameras end their events (reason `camera`); every state is also emitted as a `camera` message. */
  readonly cameraStates?: Observable<CameraState>;
  /** A version without an active label ends that label's events (reason `vocabulary`). */
  readonly vocabulary$?: Observable<Vocabulary>;
  readonly scheduler?: SchedulerLike;
}

/**
 * Window results -> detection events, per camera and label, with hysteresis: `start` after
 * `minWindows` consecutive windows >= enterThreshold, `update` while active, `end` after
 * `cooldownWindows` consecutive windows (and `cooldownMs`) < exitThreshold, or when the camera
 * stops, the vocabulary drops the label, or the source completes. Messages are unstamped; the
 * publisher sets `latencyMs` (stampLatency).
 */
export function trackEvents(options: EventTrackerOptions): OperatorFunction<WindowResult, Detection> {
  void options;
  throw new Error('not implemented');
}

/** The `window` message of a scored window (top-1 as label/score). */
export function windowMessage(result: WindowResult, model: string): Unstamped<WindowMessage> {
  void result;
  void model;
  throw new Error('not implemented');
}

/** The `camera` message of a camera state. */
export function cameraMessage(state: CameraState): Unstamped<CameraMessage> {
  void state;
  throw new Error('not implemented');
}
