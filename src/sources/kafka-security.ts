import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import type { KafkaConfig, KafkaSaslConfig, KafkaSslConfig } from '../../config/schema.js';
import { ConfigError } from '../errors.js';

/** Where credentials come from when the configuration does not name a file. */
export const KAFKA_ENV = { username: 'KAFKA_SASL_USERNAME', password: 'KAFKA_SASL_PASSWORD' } as const;

/** What kafkajs takes for `sasl` and `ssl` (its `KafkaConfig`), resolved from files and variables. */
export interface KafkaSecurity {
  readonly sasl?: SASLOptions;
  readonly ssl?: ConnectionOptions | boolean;
}

function readSetting(file: string, setting: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function saslOptions(sasl: KafkaSaslConfig, env: NodeJS.ProcessEnv): SASLOptions {
  const username = sasl.username ?? env[KAFKA_ENV.username];
  if (username === undefined || username === '') {
    throw new ConfigError(`kafka.sasl.username: no user name (set it, or the ${KAFKA_ENV.username} environment variable)`);
  }
  // A secrets file usually ends with a newline the password does not contain.
  const password = sasl.passwordFile === undefined ? env[KAFKA_ENV.password] : readSetting(sasl.passwordFile, 'kafka.sasl.passwordFile').toString('utf8').replace(/\r?\n$/, '');
  if (password === undefined || password === '') {
    const where = sasl.passwordFile === undefined ? `the ${KAFKA_ENV.password} environment variable is not set (or give kafka.sasl.passwordFile)` : `kafka.sasl.passwordFile ${sasl.passwordFile} is empty`;
    throw new ConfigError(`kafka.sasl: no password: ${where}`);
  }
  return { mechanism: sasl.mechanism, username, password };
}

function sslOptions(ssl: Exclude<KafkaSslConfig, boolean>): ConnectionOptions {
  return {
    ...(ssl.ca === undefined ? {} : { ca: readSetting(ssl.ca, 'kafka.ssl.ca') }),
    ...(ssl.cert === undefined ? {} : { cert: readSetting(ssl.cert, 'kafka.ssl.cert') }),
    ...(ssl.key === undefined ? {} : { key: readSetting(ssl.key, 'kafka.ssl.key') }),
    ...(ssl.servername === undefined ? {} : { servername: ssl.servername }),
  };
}

/** Reads the files and variables `kafka.sasl` / `kafka.ssl` point at; a ConfigError names what is missing. */
export function kafkaSecurity(config: Pick<KafkaConfig, 'sasl' | 'ssl'>, env: NodeJS.ProcessEnv = process.env): KafkaSecurity {
  return {
    ...(config.sasl === undefined ? {} : { sasl: saslOptions(config.sasl, env) }),
    ...(config.ssl === undefined || config.ssl === false ? {} : { ssl: config.ssl === true ? true : sslOptions(config.ssl) }),
  };
}

/** kafkajs' own error for refused credentials (non-retriable), anywhere in the cause chain. */
export function isSaslAuthenticationError(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) if (e.name === 'KafkaJSSASLAuthenticationError') return true;
  return false;
}
