// Smoke test of the real Kafka the integration tests use: produce/consume through it with
// kafkajs, and keep working across a restart (stop by PID, start on the same port/log dir).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, Partitioners, logLevel, type Consumer, type EachMessagePayload } from 'kafkajs';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';
import { isAlive } from '../../harness/processes.js';

/** Reads from the beginning of `topic` until `count` messages arrived (or the timeout). */
async function consume(kafka: Kafka, topic: string, count: number, timeoutMs = 60_000): Promise<string[]> {
  const consumer: Consumer = kafka.consumer({ groupId: `g-${topic}-${Date.now()}` });
  const values: string[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`got ${values.length}/${count} messages from ${topic}`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ message }: EachMessagePayload) => {
            values.push(message.value?.toString() ?? '');
            if (values.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

describe('real Kafka broker (KRaft, loopback)', () => {
  let broker: KafkaBroker;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await startKafka();
    kafka = new Kafka({ clientId: 'infra-test', brokers: [broker.brokers], logLevel: logLevel.WARN });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('listens on loopback', () => {
    expect(broker.brokers).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(isAlive(broker.pid)).toBe(true);
  });

  it('produces and consumes a message', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: 'frames-a', messages: [{ key: 'cam-1', value: 'hello' }] });
    await producer.disconnect();
    expect(await consume(kafka, 'frames-a', 1)).toEqual(['hello']);
  });

  it('restarts on the same port and keeps its data', async () => {
    const before = broker.pid;
    const address = broker.brokers;
    await broker.restart();
    expect(broker.brokers).toBe(address);
    expect(broker.pid).not.toBe(before);
    expect(isAlive(before)).toBe(false);

    const producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: 'frames-a', messages: [{ key: 'cam-1', value: 'after-restart' }] });
    await producer.disconnect();
    // Same log dir: the message from before the restart is still there.
    expect(await consume(kafka, 'frames-a', 2)).toEqual(['hello', 'after-restart']);
  });

  it('recovers from being killed (SIGKILL) and restarted', async () => {
    const before = broker.pid;
    await broker.restart({ signal: 'SIGKILL' });
    expect(isAlive(before)).toBe(false);

    const producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: 'frames-a', messages: [{ key: 'cam-1', value: 'after-crash' }] });
    await producer.disconnect();
    expect(await consume(kafka, 'frames-a', 3)).toEqual(['hello', 'after-restart', 'after-crash']);
  });

  it('stops by PID', async () => {
    const pid = broker.pid;
    await broker.stop();
    expect(isAlive(pid)).toBe(false);
  });
});
