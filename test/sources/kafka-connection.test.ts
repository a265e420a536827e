// superviseConsumer with real kafkajs consumers and a real broker on 127.0.0.1: a consumer whose
// start fails is replaced after a back-off, again and again, until the broker comes up.
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { Instrumentation, type InstrumentationEvents } from '../../src/instrumentation/instrumentation.js';
import { backoffDelay } from '../../src/lifecycle/backoff.js';
import { superviseConsumer, type SupervisedConsumer } from '../../src/sources/kafka-connection.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';
import { freePort } from '../../harness/processes.js';

describe('backoffDelay', () => {
  it.each([
    [1, 800, 1200],
    [2, 1600, 2400],
    [4, 6400, 9600],
    [6, 24_000, 36_000],
    [60, 24_000, 36_000],
  ])('attempt %i waits %i..%i ms (1 s doubling, 30 s cap, 20 percent jitter)', (attempt, lo, hi) => {
    for (let i = 0; i < 20; i++) {
      const d = backoffDelay(attempt, { initialMs: 1000, maxMs: 30_000, jitter: 0.2 });
      expect(d).toBeGreaterThanOrEqual(lo);
      expect(d).toBeLessThanOrEqual(hi);
    }
  });
});

describe('superviseConsumer', () => {
  let broker: KafkaBroker | undefined;
  let supervised: SupervisedConsumer | undefined;
  afterAll(async () => {
    await supervised?.stop();
    await broker?.stop();
  }, 120_000);

  it('replaces a consumer that could not start, with back-off, until the broker answers', async () => {
    const port = await freePort(); // nothing listens here yet
    // No retries inside kafkajs: every failed connect rejects start() at once, so the supervisor's own loop is what retries.
    const kafka = new Kafka({ clientId: 'supervise-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, connectionTimeout: 1000, retry: { retries: 0 } });
    const instrumentation = new Instrumentation();
    const events: Array<InstrumentationEvents['kafka.connection'] & { at: number }> = [];
    instrumentation.on('kafka.connection', (e) => events.push({ ...e, at: Date.now() }));
    let made = 0;
    let joins = 0;
    supervised = superviseConsumer({
      component: 'kafka-frames',
      make: () => (made++, kafka.consumer({ groupId: 'supervise-test', retry: { retries: 0 } })),
      start: async (c) => {
        await c.connect();
        await c.subscribe({ topic: 'supervise.test', fromBeginning: true });
        await c.run({ eachMessage: async () => undefined });
      },
      onJoin: () => joins++,
      instrumentation,
      initialRetryMs: 200,
      maxRetryMs: 1600,
    });

    const failures = () => events.filter((e) => e.status === 'disconnected');
    const deadline = Date.now() + 30_000;
    while (failures().length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const f = failures();
    expect(f.length).toBeGreaterThanOrEqual(4);
    expect(f[0]!.error).toMatch(/ECONNREFUSED|connect/i);
    expect(made).toBeGreaterThanOrEqual(4); // a fresh consumer for each attempt
    // Back-off: the pause before the 4th attempt is longer than before the 2nd.
    expect(f[3]!.at - f[2]!.at).toBeGreaterThan(f[1]!.at - f[0]!.at);
    expect(events.some((e) => e.status === 'connected')).toBe(false);

    broker = await startKafka({ brokerPort: port });
    const joined = Date.now() + 60_000;
    while (joins === 0 && Date.now() < joined) await new Promise((r) => setTimeout(r, 200));
    expect(joins).toBeGreaterThanOrEqual(1);
    expect(events.at(-1)).toMatchObject({ component: 'kafka-frames', status: 'connected' });
  }, 240_000);
});
