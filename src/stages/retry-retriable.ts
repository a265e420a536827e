import { asyncScheduler, retry, throwError, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { classify } from '../errors.js';

export interface RetryRetriableOptions {
  /** Wait before attempt `n` (from 1). Default `min(10 s, 500 ms · n)`. */
  readonly delayMs?: (attempt: number) => number;
  /** Called before each wait (logs). */
  readonly onRetry?: (err: unknown, attempt: number) => void;
  readonly scheduler?: SchedulerLike;
}

/**
 * Resubscribes to the source after a retriable error (see `classify`), with back-off that resets
 * once a value flows again; a fatal error passes through at once, so the pipeline stops with it
 * instead of restarting forever on a fault no restart can fix.
 */
export function retryRetriable<T>(options: RetryRetriableOptions = {}): MonoTypeOperatorFunction<T> {
  const delayMs = options.delayMs ?? ((n: number) => Math.min(10_000, 500 * n));
  const scheduler = options.scheduler ?? asyncScheduler;
  return retry<T>({
    delay: (err: unknown, attempt: number) => {
      if (!classify(err).retriable) return throwError(() => err);
      options.onRetry?.(err, attempt);
      return timer(delayMs(attempt), scheduler);
    },
    resetOnSuccess: true,
  });
}
