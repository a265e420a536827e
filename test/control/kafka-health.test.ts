// The service started while its Kafka broker is away: every Kafka client keeps retrying, /health
// says which are not connected, and once a real broker comes up on that port they all connect.
// Real kafkajs clients and a real broker on 127.0.0.1 (harness/kafka-broker.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { startLive, type LiveHandle } from '../../pipelines/live.js';
import { silentLogger } from '../../src/observability/logger.js';
import { DeterministicEngine } from '../support/deterministic-engine.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';
import { freePort } from '../../harness/processes.js';

interface Health {
  status: string;
  kafka?: Record<string, { status: string; since: string; error?: string }>;
}

const COMPONENTS = ['kafka-control', 'kafka-detections', 'kafka-frames'];

async function health(live: LiveHandle): Promise<{ code: number; body: Health }> {
  const res = await fetch(`${live.url}/health`);
  return { code: res.status, body: (await res.json()) as Health };
}

/** actionclip_kafka_connected by component, from /metrics. */
async function connectedGauges(live: LiveHandle): Promise<Record<string, number>> {
  const text = await (await fetch(`${live.url}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^actionclip_kafka_connected\{component="([\w-]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('Kafka clients that cannot connect', () => {
  let live: LiveHandle | undefined;
  let broker: KafkaBroker | undefined;

  afterAll(async () => {
    await live?.stop();
    await broker?.stop();
  }, 120_000);

  it('keep retrying, show in /health, and connect once the broker is there', async () => {
    const port = await freePort(); // nothing listens here yet
    const config = loadConfig({
      overrides: {
        weights: 'unused: the engine is given',
        labels: ['walking', 'running'],
        port: 0,
        host: '127.0.0.1',
        kafka: { brokers: [`127.0.0.1:${port}`], framesTopic: 'hf.frames', detectionsTopic: 'hf.detections', controlTopic: 'hf.control', groupId: 'hf-workers' },
        logLevel: 'silent',
      },
    });
    live = await startLive({ config, engine: new DeterministicEngine(), logger: silentLogger() });

    await until('all three Kafka clients in /health', async () => Object.keys((await health(live!)).body.kafka ?? {}).length === 3, 30_000);
    // Longer than the old clients lasted before giving up for good; none may claim to be connected.
    let sinkError: string | undefined;
    for (let i = 0; i < 20; i++) {
      const { code, body } = await health(live);
      expect(code).toBe(200);
      expect(body.status).toBe('degraded');
      expect(Object.keys(body.kafka!).sort()).toEqual(COMPONENTS);
      for (const c of COMPONENTS) expect(body.kafka![c]!.status, c).not.toBe('connected');
      sinkError ??= body.kafka!['kafka-detections']!.error;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(sinkError).toMatch(/ECONNREFUSED|connect/i);
    expect(await connectedGauges(live)).toEqual({ 'kafka-control': 0, 'kafka-detections': 0, 'kafka-frames': 0 });

    broker = await startKafka({ brokerPort: port });
    await until(
      'every Kafka client connected',
      async () => {
        const { body } = await health(live!);
        return body.status === 'ok' && COMPONENTS.every((c) => body.kafka?.[c]?.status === 'connected');
      },
      120_000,
    );
    const { body } = await health(live);
    expect(body).toMatchObject({ status: 'ok', kafka: { 'kafka-frames': { status: 'connected' }, 'kafka-control': { status: 'connected' }, 'kafka-detections': { status: 'connected' } } });
    expect(await connectedGauges(live)).toEqual({ 'kafka-control': 1, 'kafka-detections': 1, 'kafka-frames': 1 });
    await live.kafkaFramesReady;
    await live.kafkaControlReady;
  }, 300_000);
});
