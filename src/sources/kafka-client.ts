import { Kafka, logLevel, type LogEntry, type RetryOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../../config/schema.js';
import { ConfigError } from '../errors.js';
import { isSaslAuthenticationError, kafkaSecurity, KAFKA_ENV, type KafkaSecurity } from './kafka-security.js';

/**
 * Consumers of the service's own topics retry for ever: a broker outage is waited out, never a
 * reason to stop consuming (kafkajs' default gives up after a few attempts).
 */
export const FOREVER_CONSUMER_RETRY = { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 } as const;

/** kafkajs namespaces that log every failed connection attempt. */
const CONNECTION_NAMESPACES = new Set(['Connection', 'BrokerPool']);

export interface KafkaClientOptions extends KafkaSecurity {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger?: Logger;
  readonly connectionTimeout?: number;
  /** Default: 8 retries, 200 ms to 5 s apart. */
  readonly retry?: RetryOptions;
}

/**
 * One kafkajs client per service, its logs routed through pino (structured, redacted) rather than
 * kafkajs' own console logger. Connection errors during a broker outage are expected and retried by
 * the sinks and sources, which report their state themselves (`kafka.connection`, /health): kafkajs'
 * own line per failed attempt (several a second) goes to debug, other errors to warn.
 */
export function createKafka(opts: KafkaClientOptions): Kafka {
  const log = opts.logger?.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    ...(opts.sasl === undefined ? {} : { sasl: opts.sasl }),
    ...(opts.ssl === undefined ? {} : { ssl: opts.ssl }),
    connectionTimeout: opts.connectionTimeout ?? 3000,
    retry: opts.retry ?? { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
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

/** A refused login as a fatal, readable error: which mechanism, which user, where to fix it. */
export function saslAuthenticationError(config: Pick<KafkaConfig, 'sasl' | 'brokers'>, user: string, err: unknown): ConfigError {
  const where = config.sasl?.passwordFile === undefined ? KAFKA_ENV.password : `kafka.sasl.passwordFile (${config.sasl.passwordFile})`;
  return new ConfigError(
    `Kafka SASL authentication failed (${config.sasl?.mechanism ?? 'sasl'} as "${user}" on ${config.brokers.join(',')}): ${(err as Error).message}; check kafka.sasl.username and the password in ${where}`,
    { cause: err },
  );
}

/**
 * The service's Kafka client from its configuration (credentials from files or the environment).
 * With SASL it logs in once before anything starts: wrong credentials are a configuration fault and
 * stop the start with a clear error, instead of every consumer and the sink retrying them for ever.
 * A broker that cannot be reached yet is not a fault: the sinks and sources wait it out.
 */
export async function connectKafka(config: KafkaConfig, logger?: Logger): Promise<Kafka> {
  const security = kafkaSecurity(config);
  const options = { brokers: config.brokers, clientId: config.clientId, logger, ...security };
  const kafka = createKafka(options);
  if (security.sasl === undefined) return kafka;
  // One attempt on a client of its own: an unreachable broker must not hold the start for 8 retries.
  const admin = createKafka({ ...options, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
  } catch (err) {
    const user = 'username' in security.sasl ? security.sasl.username : '?';
    if (isSaslAuthenticationError(err)) throw saslAuthenticationError(config, user, err);
    logger?.warn({ err, brokers: config.brokers }, 'Kafka not reachable at start: credentials not checked yet; retrying in the background');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return kafka;
}
