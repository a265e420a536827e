/** Back-off settings: the first delay, the cap, and the random spread (0..1) around each delay. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly jitter: number;
}

/**
 * Exponential back-off, `attempt` from 1: doubling from `initialMs`, scaled by a random factor in
 * [1-jitter, 1+jitter], capped at `maxMs`. One rule for every reconnect (cameras, Kafka consumers).
 */
export function backoffDelay(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(0, Math.min(b.maxMs, Math.round(base * (1 + b.jitter * (2 * random() - 1)))));
}
