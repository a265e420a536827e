// Kafka security on the real broker: a KRaft node with SASL_PLAINTEXT and SASL_SSL listeners on
// 127.0.0.1 whose SCRAM user the broker's own storage tool creates at format time (PLAIN from its
// JAAS line), the SSL one with a certificate openssl makes here. The service's client logs in with
// a password from a file; wrong credentials are reported by name.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_DEFAULTS } from '../../config/defaults.js';
import type { KafkaConfig } from '../../config/schema.js';
import { startLive } from '../../pipelines/live.js';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/observability/logger.js';
import { KafkaDetectionsSink } from '../../src/sinks/kafka-detections.js';
import { connectKafka, createKafka } from '../../src/sources/kafka-client.js';
import { selfSignedCertificate, type TestCertificate } from '../support/certificates.js';
import { DeterministicEngine } from '../support/deterministic-engine.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';
import { patternLiveConfig } from '../support/pattern-live.js';
import { freePort } from '../../harness/processes.js';

const password = randomBytes(12).toString('hex');
const wrongPassword = randomBytes(12).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'actionclip-kafka-sasl-'));
const passwordFile = join(dir, 'kafka-password');
const wrongPasswordFile = join(dir, 'wrong-password');
let broker: KafkaBroker;
let brokerCert: TestCertificate;

const until = async (what: string, cond: () => boolean, ms = 60_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } }) };
}

function kafkaConfig(sasl: KafkaConfig['sasl'], extra: Partial<KafkaConfig> = {}): KafkaConfig {
  return { ...KAFKA_DEFAULTS, brokers: [broker.saslBrokers!], sasl, ...extra };
}

/** Values of `topic` from the beginning, through `kafka`, until `count` arrived. */
async function consume(kafka: Kafka, topic: string, count: number): Promise<Array<{ key?: string; value: string }>> {
  const consumer = kafka.consumer({ groupId: `sasl-${topic}-${Date.now()}` });
  const got: Array<{ key?: string; value: string }> = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void got.push({ key: message.key?.toString(), value: message.value?.toString() ?? '' }) });
    await until(`${count} messages on ${topic}`, () => got.length >= count);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

beforeAll(async () => {
  writeFileSync(passwordFile, `${password}\n`);
  writeFileSync(wrongPasswordFile, `${wrongPassword}\n`);
  brokerCert = await selfSignedCertificate(dir, 'broker');
  const tls = { certFile: brokerCert.certFile, keyFile: brokerCert.keyFile };
  broker = await startKafka({ sasl: { mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN'], users: [{ name: 'alice', password }], tls } });
}, 300_000);

afterAll(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('Kafka security (real broker, SASL_PLAINTEXT and SASL_SSL on loopback)', () => {
  it.each(['scram-sha-256', 'scram-sha-512', 'plain'] as const)('%s: the service client logs in, produces and consumes', async (mechanism) => {
    const kafka = await connectKafka(kafkaConfig({ mechanism, username: 'alice', passwordFile }));
    const producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: `sasl.${mechanism}`, messages: [{ key: 'k', value: `hello over ${mechanism}` }] });
    await producer.disconnect();
    expect(await consume(kafka, `sasl.${mechanism}`, 1)).toEqual([{ key: 'k', value: `hello over ${mechanism}` }]);
  });

  it('SASL_SSL: SCRAM-SHA-512 over TLS, trusting the broker certificate through kafka.ssl.ca', async () => {
    const kafka = await connectKafka(kafkaConfig({ mechanism: 'scram-sha-512', username: 'alice', passwordFile }, { brokers: [broker.saslSslBrokers!], ssl: { ca: brokerCert.certFile } }));
    const producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: 'sasl.ssl', messages: [{ key: 'k', value: 'hello over TLS' }] });
    await producer.disconnect();
    expect(await consume(kafka, 'sasl.ssl', 1)).toEqual([{ key: 'k', value: 'hello over TLS' }]);
  });

  it('SASL_SSL: a broker certificate the client does not trust is refused', async () => {
    const kafka = createKafka({ brokers: [broker.saslSslBrokers!], clientId: 'untrusting', sasl: { mechanism: 'scram-sha-512', username: 'alice', password }, ssl: true, connectionTimeout: 2000 });
    const admin = kafka.admin({ retry: { retries: 0 } });
    await expect(admin.connect()).rejects.toThrow(/self[- ]signed certificate/);
    await admin.disconnect();
  });

  it('the live pipeline publishes detections through SCRAM-SHA-256, and the password never reaches the log', async () => {
    const { lines, logger } = capture();
    const topic = 'sasl.detections';
    const config = patternLiveConfig({ logLevel: 'debug', kafka: { brokers: [broker.saslBrokers], detectionsTopic: topic, sasl: { mechanism: 'scram-sha-256', username: 'alice', passwordFile } } });
    const live = await startLive({ config, engine: new DeterministicEngine({ imageSize: 4 }), logger });
    try {
      // The camera's states come first (a few), then a window every 0.4 s.
      await until('messages acknowledged by the broker', () => (live.kafkaSink?.sent ?? 0) >= 6);
    } finally {
      await live.stop();
    }
    const reader = await connectKafka(kafkaConfig({ mechanism: 'scram-sha-256', username: 'alice', passwordFile }));
    const messages = (await consume(reader, topic, live.kafkaSink!.sent)).map((m) => ({ key: m.key, ...(JSON.parse(m.value) as { type: string }) }));
    expect(messages.filter((m) => m.type === 'window' && m.key === 'pattern').length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.filter((l) => l.includes(password))).toEqual([]);
  });

  it('a wrong password stops the start with a clear SASL error, naming mechanism, user and where the password came from', async () => {
    const { lines, logger } = capture();
    const config = patternLiveConfig({ kafka: { brokers: [broker.saslBrokers], detectionsTopic: 'sasl.never', sasl: { mechanism: 'scram-sha-256', username: 'alice', passwordFile: wrongPasswordFile } } });
    const start = startLive({ config, engine: new DeterministicEngine({ imageSize: 4 }), logger });
    await expect(start).rejects.toThrow(ConfigError);
    const message = await start.catch((err: Error) => err.message);
    expect(message).toMatch(/^Kafka SASL authentication failed \(scram-sha-256 as "alice" on 127\.0\.0\.1:\d+\): SASL SCRAM SHA256 authentication failed/);
    expect(message).toContain(`kafka.sasl.passwordFile (${wrongPasswordFile})`);
    expect(message).not.toContain(wrongPassword);
    expect(lines.filter((l) => l.includes(wrongPassword))).toEqual([]);
  });

  it('a broker not reachable at start is an outage, not a fault: a warning, and the client is returned at once', async () => {
    const { lines, logger } = capture();
    const closedPort = await freePort();
    const started = Date.now();
    const kafka = await connectKafka({ ...kafkaConfig({ mechanism: 'scram-sha-256', username: 'alice', passwordFile }), brokers: [`127.0.0.1:${closedPort}`] }, logger);
    expect(kafka).toBeDefined();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(lines.some((l) => l.includes('Kafka not reachable at start'))).toBe(true);
  });

  it('credentials refused while running: the sink reports SASL authentication at error level and keeps retrying, without crashing', async () => {
    const { lines, logger } = capture();
    const kafka = createKafka({ brokers: [broker.saslBrokers!], clientId: 'sasl-sink', sasl: { mechanism: 'scram-sha-256', username: 'alice', password: wrongPassword }, logger });
    const sink = new KafkaDetectionsSink({ kafka, topic: 'sasl.refused', logger });
    sink.publish({ kind: 'window', camera: 'c', labels: ['a'], score: 1, json: '{"type":"window"}' });
    try {
      await until('a failed send', () => sink.sendFailures >= 1);
      const refused = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.msg.includes('SASL authentication failed'));
      expect(refused?.level).toBe(50);
      expect(sink.sent).toBe(0);
      expect(sink.buffered).toBe(1); // kept, not dropped: fixed credentials would deliver it
    } finally {
      await sink.close(100);
    }
    expect(lines.filter((l) => l.includes(wrongPassword))).toEqual([]);
  });
});
