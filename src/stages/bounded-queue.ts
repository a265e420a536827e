import type { QueueStats } from '../instrumentation/stats.js';

/**
 * A fixed-capacity ring (array of slots): push/shift are O(1) and the memory is allocated once, so
 * a full queue under sustained overload neither grows nor churns.
 */
class Ring<T> {
  private readonly slots: (T | undefined)[];
  private head = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array<T | undefined>(capacity);
  }

  /** Appends; returns the evicted oldest item when full. */
  push(item: T): T | undefined {
    let evicted: T | undefined;
    if (this.size === this.capacity) {
      evicted = this.shift();
    }
    this.slots[(this.head + this.size) % this.capacity] = item;
    this.size++;
    return evicted;
  }

  peek(): T | undefined {
    return this.size === 0 ? undefined : this.slots[this.head];
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined; // let the frame's pixels be collected
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return item;
  }
}

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
  // Insertion-ordered: the round-robin order is the order cameras first appeared.
  private readonly queues = new Map<string, Ring<T>>();
  private readonly drops = new Map<string, number>();
  private total = 0;
  /** Camera served last by `take`; the next round starts after it. */
  private lastServed: string | undefined;

  /**
   * @param capacity most items kept per camera (>= 1).
   * @param stats    drop and depth callbacks.
   */
  constructor(
    readonly capacity: number,
    private readonly stats: QueueStats = {},
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be an integer >= 1, got ${capacity}`);
  }

  /** Appends `item` to its camera's queue, dropping that camera's oldest item when full. */
  push(item: T): void {
    let q = this.queues.get(item.camera);
    if (q === undefined) {
      q = new Ring<T>(this.capacity);
      this.queues.set(item.camera, q);
    }
    const evicted = q.push(item);
    if (evicted !== undefined) {
      this.drops.set(item.camera, (this.drops.get(item.camera) ?? 0) + 1);
      this.stats.onDrop?.(item.camera, 1);
    } else {
      this.total++;
    }
    this.stats.onDepth?.(item.camera, q.size);
  }

  /**
   * Takes up to `max` items round-robin across cameras (one per camera per round, continuing after
   * the camera served last), preserving each camera's order.
   */
  take(max: number): T[] {
    const out: T[] = [];
    if (this.total === 0 || max <= 0) return out;
    const order = this.roundRobinOrder();
    const touched = new Set<string>();
    while (out.length < max && this.total > 0) {
      for (const camera of order) {
        if (out.length >= max) break;
        const q = this.queues.get(camera);
        if (q === undefined || q.size === 0) continue;
        out.push(q.shift() as T);
        this.total--;
        this.lastServed = camera;
        touched.add(camera);
      }
    }
    for (const camera of touched) {
      // Empty rings are kept (a few pointers) so the round-robin order stays stable; removeCamera frees them.
      this.stats.onDepth?.(camera, this.queues.get(camera)?.size ?? 0);
    }
    return out;
  }

  /** Items waiting for `camera`, or across all cameras when omitted. */
  depth(camera?: string): number {
    if (camera === undefined) return this.total;
    return this.queues.get(camera)?.size ?? 0;
  }

  /** Total items dropped for `camera` since construction (or across all cameras). */
  dropped(camera?: string): number {
    if (camera !== undefined) return this.drops.get(camera) ?? 0;
    let n = 0;
    for (const d of this.drops.values()) n += d;
    return n;
  }

  /** The oldest waiting item of `camera`, not removed. */
  peek(camera: string): T | undefined {
    return this.queues.get(camera)?.peek();
  }

  /** Cameras with at least one waiting item. */
  cameras(): string[] {
    return [...this.queues].filter(([, q]) => q.size > 0).map(([c]) => c);
  }

  /** Discards the queue of `camera` (camera removed); returns how many items were discarded (not counted as drops). */
  removeCamera(camera: string): number {
    const q = this.queues.get(camera);
    if (q === undefined) return 0;
    const n = q.size;
    this.total -= n;
    this.queues.delete(camera);
    this.stats.onDepth?.(camera, 0);
    return n;
  }

  /** Discards everything (on unsubscribe). */
  clear(): void {
    this.queues.clear();
    this.total = 0;
  }

  /** Cameras in insertion order, rotated to start just after the camera served last. */
  private roundRobinOrder(): string[] {
    const cams = [...this.queues.keys()];
    if (this.lastServed === undefined) return cams;
    // The last-served camera may have been removed: then start from the first.
    const i = cams.indexOf(this.lastServed);
    return i < 0 ? cams : [...cams.slice(i + 1), ...cams.slice(0, i + 1)];
  }
}
