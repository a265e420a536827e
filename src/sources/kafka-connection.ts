import type { Consumer } from 'kafkajs';
import type { Logger } from 'pino';
import type { ConnectionStatus, Instrumentation, KafkaComponent } from '../instrumentation/instrumentation.js';
import { backoffDelay } from '../lifecycle/backoff.js';
import { redactText } from './redact.js';

/** Reports one Kafka component's connection state, once per change, to instrumentation and the log. */
export function connectionReporter(component: KafkaComponent, instrumentation?: Instrumentation, logger?: Logger): (status: ConnectionStatus, err?: unknown) => void {
  let last: ConnectionStatus | undefined;
  return (status, err) => {
    const error = err === undefined ? undefined : redactText(err instanceof Error ? err.message : String(err));
    if (status === last && error === undefined) return;
    instrumentation?.emit('kafka.connection', { component, status, ...(error === undefined ? {} : { error }) });
    if (status !== last) {
      if (status === 'disconnected') logger?.warn({ component, error }, `${component}: not connected to Kafka; retrying with back-off`);
      else logger?.info({ component }, `${component}: ${status === 'connected' ? 'connected to Kafka' : 'connecting to Kafka'}`);
    }
    last = status;
  };
}

/**
 * kafkajs retries a connection inside connect() without a word: a warning after 10 s without a
 * connection, then at doubling intervals (at most every 5 min), until disarmed.
 */
function slowConnectWarning(component: KafkaComponent, logger?: Logger): { arm(): void; disarm(): void } {
  let timer: NodeJS.Timeout | undefined;
  let waitedMs = 0;
  const schedule = (ms: number): void => {
    timer = setTimeout(() => {
      waitedMs += ms;
      logger?.warn({ component, waitedSec: Math.round(waitedMs / 1000) }, `${component}: still not connected to Kafka; retrying`);
      schedule(Math.min(ms * 2, 300_000));
    }, ms);
    timer.unref();
  };
  return {
    arm() {
      if (timer === undefined) schedule(10_000);
    },
    disarm() {
      clearTimeout(timer);
      timer = undefined;
      waitedMs = 0;
    },
  };
}

export interface SupervisedConsumerOptions {
  readonly component: KafkaComponent;
  /** A fresh consumer for each attempt (a consumer kafkajs gave up on is not reused). */
  readonly make: () => Consumer;
  /** connect, subscribe, run: rejects when the consumer could not start. */
  readonly start: (consumer: Consumer) => Promise<void>;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
  /** Called on every group join (the consumer receives messages from then on). */
  readonly onJoin?: () => void;
  readonly initialRetryMs?: number;
  readonly maxRetryMs?: number;
}

export interface SupervisedConsumer {
  /** Stops retrying and disconnects the current consumer. */
  stop(): Promise<void>;
}

/**
 * Keeps a consumer running for as long as it is wanted. kafkajs restarts a consumer after a
 * retriable crash by itself, but a failed first start, or a crash it will not restart, ends that
 * consumer for good; here such a consumer is replaced by a fresh one after a back-off, forever.
 * The state is reported as `kafka.connection` events: connecting, connected (joined its group),
 * disconnected (with the error).
 */
export function superviseConsumer(opts: SupervisedConsumerOptions): SupervisedConsumer {
  const report = connectionReporter(opts.component, opts.instrumentation, opts.logger);
  const initialMs = opts.initialRetryMs ?? 1000;
  const maxMs = opts.maxRetryMs ?? 30_000;
  let current: Consumer | undefined;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let stopped = false;
  const watchdog = slowConnectWarning(opts.component, opts.logger);

  const retryLater = (consumer: Consumer, err: unknown): void => {
    if (stopped || consumer !== current) return;
    failures++;
    report('disconnected', err);
    opts.instrumentation?.emit('fault.retried', { component: opts.component, reason: 'consumer' });
    current = undefined;
    void consumer.disconnect().catch(() => undefined);
    timer = setTimeout(launch, backoffDelay(failures, { initialMs, maxMs, jitter: 0.2 }));
  };

  function launch(): void {
    if (stopped) return;
    const consumer = opts.make();
    current = consumer;
    report('connecting');
    watchdog.arm();
    consumer.on(consumer.events.GROUP_JOIN, () => {
      failures = 0;
      watchdog.disarm();
      report('connected');
      opts.onJoin?.();
    });
    consumer.on(consumer.events.CRASH, (e) => {
      watchdog.arm();
      if (e.payload.restart) report('connecting', e.payload.error);
      else retryLater(consumer, e.payload.error);
    });
    opts.start(consumer).catch((err: unknown) => retryLater(consumer, err));
  }

  launch();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      watchdog.disarm();
      const c = current;
      current = undefined;
      await c?.disconnect().catch(() => undefined);
    },
  };
}
