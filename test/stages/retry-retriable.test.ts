import { defer, of, throwError, concat } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ConfigError, EngineError, SourceError } from '../../src/errors.js';
import { retryRetriable } from '../../src/stages/retry-retriable.js';

const scheduler = () => new TestScheduler((a, b) => expect(a).toEqual(b));

describe('retryRetriable', () => {
  it('a retriable error resubscribes after the back-off', () => {
    scheduler().run(({ cold, expectObservable }) => {
      let subscriptions = 0;
      const source = defer(() => (++subscriptions < 3 ? cold('a#', { a: subscriptions }, new EngineError('device lost', true)) : cold('a|', { a: subscriptions })));
      const retried: number[] = [];
      // Attempt n waits n ms, and a value in between resets the count: each error waits 1 ms.
      expectObservable(source.pipe(retryRetriable({ delayMs: (n) => n, onRetry: (_e, n) => retried.push(n) }))).toBe('a-b-c|', { a: 1, b: 2, c: 3 });
      return () => expect(retried).toEqual([1, 1]);
    });
  });

  it('a fatal error stops the stream once, without a retry', () => {
    scheduler().run(({ cold, expectObservable }) => {
      let subscriptions = 0;
      const fatal = new ConfigError('embedding dimension 3, expected 4');
      const source = defer(() => {
        subscriptions++;
        return cold('a#', { a: 1 }, fatal);
      });
      expectObservable(source.pipe(retryRetriable({ delayMs: () => 1 }))).toBe('a#', { a: 1 }, fatal);
      return () => expect(subscriptions).toBe(1);
    });
  });

  it('errors outside the hierarchy are fatal; a retriable SourceError is retried', async () => {
    const seen: string[] = [];
    let n = 0;
    const source = defer(() => {
      n++;
      if (n === 1) return throwError(() => new SourceError('connection reset', true));
      if (n === 2) return concat(of('ok'), throwError(() => new TypeError('bug')));
      return of('never');
    });
    await new Promise<void>((resolve) =>
      source.pipe(retryRetriable({ delayMs: () => 0, onRetry: (e) => seen.push((e as Error).message) })).subscribe({
        next: (v) => seen.push(v),
        error: (e: Error) => {
          seen.push(`stopped: ${e.name}`);
          resolve();
        },
      }),
    );
    expect(seen).toEqual(['connection reset', 'ok', 'stopped: TypeError']);
    expect(n).toBe(2);
  });
});
