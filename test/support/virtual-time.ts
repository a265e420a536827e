import { Subject, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

/**
 * Virtual time for stages that mix scheduler timers with promises (engine calls).
 *
 * `TestScheduler.run` flushes all virtual time synchronously, so a promise (an engine call) can
 * only settle after the whole run: useless for a batcher that waits for its call to finish. This
 * driver steps the same TestScheduler one due time at a time and lets microtasks (promise
 * continuations) run between steps, so engine latency is virtual too and nothing sleeps.
 * Marble strings are parsed in run mode: one character = 1 ms, `' '` ignored.
 */
export class VirtualTime {
  readonly scheduler = new TestScheduler((a, b) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`marble mismatch: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
  });

  now(): number {
    return this.scheduler.now();
  }

  /** A hot stream emitting `values[c]` at each marble character's frame (`|` completes). */
  hot<T>(marbles: string, values: Record<string, T>): Observable<T> {
    const subject = new Subject<T>();
    for (const m of parseRunMode(marbles, values)) {
      this.scheduler.schedule(() => {
        const n = m.notification;
        if (n.kind === 'N') subject.next(n.value as T);
        else if (n.kind === 'C') subject.complete();
        else subject.error(n.error);
      }, m.frame);
    }
    return subject.asObservable();
  }

  /** Runs everything due up to `t` (absolute virtual ms), settling promises between due times. */
  async runUntil(t: number): Promise<void> {
    const s = this.scheduler;
    for (;;) {
      await settle();
      const next = s.actions[0];
      if (next === undefined || next.delay > t) break;
      s.maxFrames = next.delay;
      s.flush();
    }
    s.frame = Math.max(s.frame, t);
    await settle();
  }

  /** Runs until nothing is scheduled any more (bounded, so a runaway timer fails the test). */
  async runAll(limit = 1_000_000): Promise<void> {
    await this.runUntil(limit);
    if (this.scheduler.actions.length > 0) throw new Error(`still ${this.scheduler.actions.length} actions scheduled after ${limit} ms`);
  }

  /** Timers still pending (a stage that freed its resources leaves none). */
  pending(): number {
    return this.scheduler.actions.length;
  }
}

/** Marbles at 1 ms per character, as inside `TestScheduler.run` (which sets the same static). */
function parseRunMode(marbles: string, values: Record<string, unknown>): ReturnType<typeof TestScheduler.parseMarbles> {
  const saved = TestScheduler.frameTimeFactor;
  TestScheduler.frameTimeFactor = 1;
  try {
    return TestScheduler.parseMarbles(marbles, values, undefined, undefined, true);
  } finally {
    TestScheduler.frameTimeFactor = saved;
  }
}

/** Lets every queued microtask (and their follow-ups) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Records each value with the virtual time it arrived at. */
export function record<T>(vt: VirtualTime, source: Observable<T>): { values: { t: number; v: T }[]; done: { t: number } | undefined; error: unknown; unsubscribe(): void } {
  const out = {
    values: [] as { t: number; v: T }[],
    done: undefined as { t: number } | undefined,
    error: undefined as unknown,
    unsubscribe: () => sub.unsubscribe(),
  };
  const sub = source.subscribe({
    next: (v) => out.values.push({ t: vt.now(), v }),
    error: (e: unknown) => (out.error = e),
    complete: () => (out.done = { t: vt.now() }),
  });
  return out;
}
