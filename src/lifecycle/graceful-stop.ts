/**
 * Graceful shutdown (SIGTERM on every deploy): the order in which a live process stops so that no
 * window whose frames were captured is lost. Each step is the running pipeline's own; this module
 * only fixes their order and bounds the wait for windows in flight.
 */
import type { Logger } from 'pino';
import { classify } from '../errors.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';

export interface StopSteps {
  /** 1. No new cameras or control changes; /ready answers 503. */
  refuse(): void;
  /** 2. Sources stop; frames already captured stay in the pipeline. */
  stopSources(): void;
  /** 3. The pipeline's input ends; resolves once all it held came out to the sinks. */
  drain(): Promise<void>;
  /** 4. The Kafka producer flushed, then frame offsets committed. */
  flush(): Promise<void>;
  /** 5, 6. WebSocket clients closed with 1001, the HTTP server closed, everything else released. */
  release(): Promise<void>;
}

/** Runs the steps in order; a drain that outlasts `drainTimeoutMs` is logged and cut short. */
export async function gracefulStop(steps: StopSteps, opts: { drainTimeoutMs: number; logger?: Logger }): Promise<void> {
  const log = opts.logger;
  steps.refuse();
  steps.stopSources();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), opts.drainTimeoutMs)));
  const drained = await Promise.race([steps.drain().then(() => 'drained' as const), timedOut]);
  clearTimeout(timer);
  if (drained === 'timeout') log?.warn({ timeoutMs: opts.drainTimeoutMs }, 'shutdown: windows still in flight after the drain timeout; stopping without them');
  else log?.info('shutdown: windows in flight finished');
  await steps.flush();
  await steps.release();
}

/** `gracefulStop` once: later calls get the same promise. */
export function gracefulStopper(steps: StopSteps, opts: { drainTimeoutMs: number; logger?: Logger }): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => (stopping ??= gracefulStop(steps, opts).then(() => opts.logger?.info('live pipeline stopped')));
}

/** The pipeline's retry of a retriable fault: logged and counted by kind. */
export function retried(instrumentation: Instrumentation, log: Logger, err: unknown, attempt: number): void {
  instrumentation.emit('fault.retried', { component: 'pipeline', reason: classify(err).kind });
  log.error({ err, attempt }, 'pipeline failed; restarting it');
}
