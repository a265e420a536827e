import type { CameraStatus } from '../types.js';

/** What a camera state change means for the stages downstream of its source. */
export interface LifecycleEffect {
  /** Frames of the camera waiting in the encoder's queue are discarded (the camera is gone). */
  readonly discardQueuedFrames: boolean;
  /** The camera's sliding-window buffer is dropped: later frames do not continue earlier ones. */
  readonly resetWindows: boolean;
  /** The camera's open events end (reason `camera`). */
  readonly endEvents: boolean;
}

/**
 * The one camera-lifecycle policy, read by `embedFrames`, `slidingWindows` and `trackEvents`:
 * - stopped: the camera is gone; free everything it holds.
 * - reconnecting (failed: the same, after many failures in a row): the stream broke; queued frames are still real and get encoded, but no window
 *   may span the outage and what was happening is not known to go on.
 * - connecting: a (re)start; a window must not join frames from before it.
 * - stalled: always followed by reconnecting, which acts; streaming: nothing to undo.
 */
export const CAMERA_LIFECYCLE: Readonly<Record<CameraStatus, LifecycleEffect>> = {
  connecting: { discardQueuedFrames: false, resetWindows: true, endEvents: false },
  streaming: { discardQueuedFrames: false, resetWindows: false, endEvents: false },
  stalled: { discardQueuedFrames: false, resetWindows: false, endEvents: false },
  reconnecting: { discardQueuedFrames: false, resetWindows: true, endEvents: true },
  failed: { discardQueuedFrames: false, resetWindows: true, endEvents: true },
  stopped: { discardQueuedFrames: true, resetWindows: true, endEvents: true },
};

export function lifecycleOf(status: CameraStatus): LifecycleEffect {
  return CAMERA_LIFECYCLE[status];
}
