import { Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { BoundedQueues } from './bounded-queue.js';
import type { BatchStats } from '../instrumentation/stats.js';

export interface MicroBatchOptions<T, R> {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly queueCapacity: number;
  readonly scheduler: SchedulerLike;
  readonly stats?: BatchStats;
  /** One engine call for a batch; resolves with the outputs to emit, in order. */
  readonly process: (items: T[]) => Promise<readonly R[]>;
  /** Cameras whose waiting items are to be discarded (camera removed). */
  readonly removals?: Observable<string>;
}

interface Queued<T> {
  readonly camera: string;
  readonly value: T;
  /** Arrival time on the scheduler clock: max-wait is measured from the oldest waiting item. */
  readonly at: number;
}

/**
 * The shared micro-batching core of the frame batcher and the window fuser: items wait in bounded
 * per-camera queues (drop-oldest), a batch goes out when `maxBatch` are waiting or the oldest has
 * waited `maxWaitMs` (0: at the end of the current tick, so items arriving together share a call),
 * and at most one `process` call is in flight, which is the back-pressure: while it runs, items
 * queue and the queues drop. Completion of the source flushes what is queued.
 */
export function microBatch<T extends { readonly camera: string }, R>(options: MicroBatchOptions<T, R>): OperatorFunction<T, R> {
  const { maxBatch, maxWaitMs, queueCapacity, scheduler, stats = {}, process, removals } = options;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be an integer >= 1, got ${maxBatch}`);
  if (!(maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be >= 0, got ${maxWaitMs}`);

  return (source) =>
    new Observable<R>((subscriber) => {
      const queues = new BoundedQueues<Queued<T>>(queueCapacity, stats);
      let inFlight = false;
      let sourceDone = false;
      let closed = false;
      let timer: Subscription | undefined;

      const clearTimer = (): void => {
        timer?.unsubscribe();
        timer = undefined;
      };

      const oldestArrival = (): number => {
        let oldest = Infinity;
        for (const camera of queues.cameras()) oldest = Math.min(oldest, queues.peek(camera)?.at ?? Infinity);
        return oldest;
      };

      const fire = (): void => {
        clearTimer();
        const batch = queues.take(maxBatch);
        inFlight = true;
        const t0 = scheduler.now();
        let pending: Promise<readonly R[]>;
        try {
          pending = process(batch.map((q) => q.value));
        } catch (err) {
          pending = Promise.reject(err);
        }
        pending.then(
          (results) => {
            if (closed) return; // unsubscribed meanwhile: the result is simply dropped
            inFlight = false;
            stats.onBatch?.(batch.length, scheduler.now() - t0);
            for (const r of results) {
              if (closed) return;
              subscriber.next(r);
            }
            decide();
          },
          (err: unknown) => {
            if (!closed) subscriber.error(err);
          },
        );
      };

      const decide = (): void => {
        if (closed || inFlight) return;
        const depth = queues.depth();
        if (depth === 0) {
          clearTimer();
          if (sourceDone) subscriber.complete();
          return;
        }
        const waited = scheduler.now() - oldestArrival();
        if (depth >= maxBatch || sourceDone || (maxWaitMs > 0 && waited >= maxWaitMs)) {
          fire();
          return;
        }
        if (timer === undefined) {
          timer = scheduler.schedule(() => {
            timer = undefined;
            if (!closed && !inFlight && queues.depth() > 0) fire();
          }, Math.max(0, maxWaitMs - waited));
        }
      };

      const removalSub = removals?.subscribe((camera) => {
        queues.removeCamera(camera);
        decide();
      });
      const sourceSub = source.subscribe({
        next: (value) => {
          queues.push({ camera: value.camera, value, at: scheduler.now() });
          decide();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          decide();
        },
      });

      return () => {
        closed = true;
        clearTimer();
        queues.clear();
        sourceSub.unsubscribe();
        removalSub?.unsubscribe();
      };
    });
}
