import type { QueueStats } from './stats.js';

/**
 * Per-camera bounded FIFO queues with a drop-oldest policy, the back-pressure point in front of the
 * engine: when inference is slower than the cameras, the oldest waiting item of that camera is
 * discarded (and counted) so memory stays bounded at `capacity` items per camera and what does get
 * encoded is as fresh as possible. Taking is round-robin across cameras so one busy camera cannot
 * starve the others.
 *
 * Generic over the item so the same policy serves frames and windows.
 */
export class BoundedQueues<T extends { readonly camera: string }> {
  /**
   * @param capacity most items kept per camera (>= 1).
   * @param stats    drop and depth callbacks.
   */
  constructor(readonly capacity: number, stats?: QueueStats) {
    void stats;
    throw new Error('not implemented');
  }

  /** Appends `item` to its camera's queue, dropping that camera's oldest item when full. */
  push(item: T): void {
    void item;
    throw new Error('not implemented');
  }

  /**
   * Takes up to `max` items round-robin across cameras (one per camera per round, continuing after
   * the camera served last), preserving each camera's order.
   */
  take(max: number): T[] {
    void max;
    throw new Error('not implemented');
  }

  /** Items waiting for `camera`, or across all cameras when omitted. */
  depth(camera?: string): number {
    void camera;
    throw new Error('not implemented');
  }

  /** Total items dropped for `camera` since construction (or across all cameras). */
  dropped(camera?: string): number {
    void camera;
    throw new Error('not implemented');
  }

  /** Cameras with at least one waiting item. */
  cameras(): string[] {
    throw new Error('not implemented');
  }

  /** Discards the queue of `camera` (camera removed); returns how many items were discarded (not counted as drops). */
  removeCamera(camera: string): number {
    void camera;
    throw new Error('not implemented');
  }

  /** Discards everything (on unsubscribe). */
  clear(): void {
    throw new Error('not implemented');
  }
}
