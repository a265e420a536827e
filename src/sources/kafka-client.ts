import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * Consumers of the service's own topics retry for ever: a broker outage is waited out, never a
 * reason to stop consuming (kafkajs' default gives up after a few attempts).
 */
export const FOREVER_CONSUMER_RETRY = { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 } as const;

/** kafkajs namespaces that log every failed connection attempt. */
const CONNECTION_NAMESPACES = new Set(['Connection', 'BrokerPool']);

/**
 * One kafkajs client per service, its logs routed through pino (structured, redacted) rather than
 * kafkajs' own console logger. Connection errors during a broker outage are expected and retried by
 * the sinks and sources, which report their state themselves (`kafka.connection`, /health): kafkajs'
 * own line per failed attempt (several a second) goes to debug, other errors to warn.
 */
export function createKafka(opts: { brokers: readonly string[]; clientId: string; logger?: Logger; connectionTimeout?: number }): Kafka {
  const log = opts.logger?.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    connectionTimeout: opts.connectionTimeout ?? 3000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      if (log === undefined) return;
      const { message, ...rest } = entry.log;
      const perAttempt = CONNECTION_NAMESPACES.has(entry.namespace);
      const level = perAttempt ? 'debug' : entry.level <= logLevel.ERROR ? 'warn' : entry.level === logLevel.WARN ? 'info' : 'debug';
      log[level]({ namespace: entry.namespace, ...rest }, message);
    },
  });
}
