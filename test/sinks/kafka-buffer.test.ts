// The Kafka detections sink while its broker is away: the buffer stays at its bound, the oldest
// messages go first (counted in the metric, shown in /health's sink view), and once a real broker
// comes up on that port the newest `bufferSize` messages arrive in order. Real kafkajs, real broker.
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { SinkBacklog } from '../../src/control/health.js';
import { Instrumentation } from '../../src/instrumentation/instrumentation.js';
import { Metrics } from '../../src/observability/metrics.js';
import { observeMetrics } from '../../src/observability/metrics-observer.js';
import { KafkaDetectionsSink } from '../../src/sinks/kafka-detections.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';
import { freePort } from '../../harness/processes.js';

const BOUND = 50;
const SENT = 200;

const event = (i: number) => ({ kind: 'window' as const, camera: 'door', labels: ['run'], score: 0.5, json: JSON.stringify({ type: 'window', i }) });

describe('Kafka detections sink with the broker down', () => {
  let broker: KafkaBroker | undefined;
  let sink: KafkaDetectionsSink | undefined;
  let consumer: Consumer | undefined;

  afterAll(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await sink?.close(1000);
    await broker?.stop();
  }, 120_000);

  it('keeps at most bufferSize messages, drops the oldest (counted), delivers the rest once the broker is back', async () => {
    const port = await freePort(); // nothing listens here yet
    const kafka = new Kafka({ clientId: 'kb', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 1000, initialRetryTime: 200, maxRetryTime: 1000 } });
    const instrumentation = new Instrumentation();
    const metrics = new Metrics({ defaultMetrics: false });
    const off = observeMetrics(instrumentation, metrics);
    const backlog = new SinkBacklog(instrumentation);
    let peak = 0;
    instrumentation.on('sink.buffered', (e) => (peak = Math.max(peak, e.depth)));
    sink = new KafkaDetectionsSink({ kafka, topic: 'kb.detections', bufferSize: BOUND, instrumentation });

    for (let i = 0; i < SENT; i++) sink.publish(event(i));
    expect(sink.buffered).toBe(BOUND);
    expect(peak).toBe(BOUND);
    expect(sink.dropped).toBe(SENT - BOUND);
    expect(await metrics.text()).toContain(`actionclip_sink_dropped_total{sink="kafka",reason="buffer_full"} ${SENT - BOUND}`);
    expect(backlog.view()).toEqual([{ sink: 'kafka', buffered: BOUND, limit: BOUND, droppedRecently: SENT - BOUND }]);

    broker = await startKafka({ brokerPort: port });
    const got: number[] = [];
    consumer = new Kafka({ clientId: 'kb-read', brokers: [broker.brokers], logLevel: logLevel.NOTHING }).consumer({ groupId: `kb-${Date.now()}` });
    await consumer.connect();
    expect(await sink.flush(90_000)).toBe(0);
    await consumer.subscribe({ topic: 'kb.detections', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void got.push((JSON.parse(message.value!.toString()) as { i: number }).i) });
    const deadline = Date.now() + 60_000;
    while (got.length < BOUND && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    // At-least-once: a retried batch may repeat; what arrives is the newest BOUND, in order.
    expect([...new Set(got)]).toEqual(Array.from({ length: BOUND }, (_, k) => SENT - BOUND + k));
    off();
    backlog.close();
  }, 240_000);
});
