// The live pipeline end to end on real servers: a KRaft Kafka broker and an RTSP server
// (mediamtx) fed by ffmpeg, both started by PID from test/support; the tiny reference model
// loaded through loadModel (the real loading path); real ws clients and kafkajs consumers.
import { Kafka, Partitioners, logLevel, type Consumer, type IHeaders } from 'kafkajs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { referenceLiveConfig } from '../support/reference-live.js';
import { startLive, type LiveHandle } from '../../pipelines/live.js';
import { silentLogger } from '../../src/observability/logger.js';
import { HAVE_FIXTURES } from '../support/fixtures.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';
import { publishTestPattern, startRtspServer, type Publisher, type RtspServer } from '../../harness/rtsp-server.js';

type Msg = Record<string, any> & { type: string; camera: string };

const TOPICS = { frames: 'it.frames', detections: 'it.detections', control: 'it.control', dlq: 'it.frames.dlq' };
const SIZE = 32;

let broker: KafkaBroker;
let rtsp: RtspServer;
let publisher: Publisher;
let live: LiveHandle;
let kafka: Kafka;
let detectionsConsumer: Consumer;
let dlqConsumer: Consumer;
const fromKafka: Msg[] = [];
const dlq: Array<{ key?: string; error?: string }> = [];
let ws: WebSocket;
const fromWs: Msg[] = [];

const until = async (what: string, cond: () => boolean, ms = 90_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};
const windowsOf = (msgs: Msg[], camera: string, since = 0): Msg[] => msgs.filter((m) => m.type === 'window' && m.camera === camera && m.windowEnd > since);
const header = (h: IHeaders | undefined, k: string): string | undefined => h?.[k]?.toString();

async function startConsumer(topic: string, onMessage: (value: string, headers: IHeaders | undefined, key?: string) => void): Promise<Consumer> {
  const c = kafka.consumer({ groupId: `it-${topic}-${Date.now()}`, retry: { retries: 100 } });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => onMessage(message.value?.toString() ?? '', message.headers, message.key?.toString()) });
  return c;
}

describe.skipIf(!HAVE_FIXTURES)('live pipeline (real Kafka, RTSP server, reference model)', () => {
  beforeAll(async () => {
    [broker, rtsp] = await Promise.all([startKafka(), startRtspServer()]);
    publisher = await publishTestPattern(rtsp.url('cam1'), { fps: 5, width: 64, height: 48 });
    kafka = new Kafka({ clientId: 'it', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: TOPICS.frames, numPartitions: 2 },
        { topic: TOPICS.detections, numPartitions: 1 },
        { topic: TOPICS.control, numPartitions: 1 },
        { topic: TOPICS.dlq, numPartitions: 1 },
      ],
    });
    await admin.disconnect();

    const config = referenceLiveConfig({
      cameras: [{ id: 'cam1', url: rtsp.url('cam1') }],
      decode: { width: SIZE, height: SIZE },
      kafka: { brokers: [broker.brokers], framesTopic: TOPICS.frames, detectionsTopic: TOPICS.detections, controlTopic: TOPICS.control, deadLetterTopic: TOPICS.dlq, groupId: 'it-workers' },
      supervision: { stallTimeoutSec: 3, connectTimeoutSec: 20, backoff: { initialMs: 200, maxMs: 2000, jitter: 0.2 } },
    });
    live = await startLive({ config, logger: silentLogger() });
    detectionsConsumer = await startConsumer(TOPICS.detections, (v) => fromKafka.push(JSON.parse(v) as Msg));
    dlqConsumer = await startConsumer(TOPICS.dlq, (_v, h, key) => dlq.push({ key, error: header(h, 'error') }));
    ws = new WebSocket(`ws://127.0.0.1:${live.port}/ws`);
    ws.on('message', (d) => fromWs.push(JSON.parse(d.toString()) as Msg));
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    await Promise.all([live.kafkaFramesReady, live.kafkaControlReady]);
  }, 300_000);

  afterAll(async () => {
    ws?.terminate();
    await live?.stop();
    await detectionsConsumer?.disconnect().catch(() => undefined);
    await dlqConsumer?.disconnect().catch(() => undefined);
    await publisher?.stop().catch(() => undefined);
    await rtsp?.stop();
    await broker?.stop();
  }, 120_000);

  it('RTSP in -> windows out over WebSocket and Kafka', async () => {
    await until('cam1 windows on WebSocket and Kafka', () => windowsOf(fromWs, 'cam1').length >= 2 && windowsOf(fromKafka, 'cam1').length >= 2);
    const w = windowsOf(fromWs, 'cam1')[0];
    expect(w).toMatchObject({ schema: 1, frames: 8, vocabularyVersion: 1 });
    expect(['walking', 'running', 'jumping']).toContain(w.label);
    expect(w.topk).toHaveLength(3);
    expect(fromWs.some((m) => m.type === 'camera' && m.camera === 'cam1' && m.state.status === 'streaming')).toBe(true);
    const ready = await fetch(`${live.url}/ready`);
    expect(ready.status).toBe(200);
    const cams = (await (await fetch(`${live.url}/cameras`)).json()) as Array<{ id: string; state: { status: string } }>;
    expect(cams[0]).toMatchObject({ id: 'cam1', state: { status: 'streaming' } });
  });

  it('Kafka frames in (raw RGB and PNG) -> windows out; malformed frames go to the dead-letter topic', async () => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const t0 = Date.now();
    const good = async (i: number) => {
      const rgb = Buffer.alloc(SIZE * SIZE * 3, (i * 13) % 256);
      const value = i % 2 === 0 ? rgb : await sharp(rgb, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toBuffer();
      return { key: 'kcam', value, headers: { width: String(SIZE), height: String(SIZE), ts: String(t0 + i * 250) } };
    };
    await producer.send({ topic: TOPICS.frames, messages: await Promise.all([0, 1, 2, 3, 4, 5].map(good)) });
    await producer.send({
      topic: TOPICS.frames,
      messages: [
        { key: 'kcam', value: Buffer.alloc(10), headers: { width: String(SIZE), height: String(SIZE), format: 'rgb' } }, // wrong size
        { key: 'kcam', value: Buffer.from('not an image') }, // undecodable
        { key: 'bad key!', value: Buffer.alloc(3), headers: { width: '1', height: '1' } }, // bad camera id
      ],
    });
    await producer.send({ topic: TOPICS.frames, messages: await Promise.all([6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map(good)) });
    await producer.disconnect();

    await until('kcam windows', () => windowsOf(fromWs, 'kcam').length >= 3);
    expect(windowsOf(fromWs, 'kcam')[0]).toMatchObject({ frames: 8, windowStart: t0, windowEnd: t0 + 7 * 250 });
    await until('3 dead letters', () => dlq.length >= 3);
    // The bad key may hash to another partition: no order across the three.
    const errors = dlq.map((d) => d.error ?? '');
    for (const re of [/needs 3072 bytes/, /not a decodable image/, /key must be a camera id/]) expect(errors.some((e) => re.test(e))).toBe(true);
    const metrics = await (await fetch(`${live.url}/metrics`)).text();
    const malformed = [...metrics.matchAll(/^actionclip_kafka_frames_malformed_total\{reason="(\w+)"\} (\d+)/gm)].reduce((n, m) => n + Number(m[2]), 0);
    expect(malformed).toBe(3);
    expect((await fetch(`${live.url}/health`)).status).toBe(200); // still running
  });

  it('vocabulary changes at runtime (HTTP PUT, WebSocket message, Kafka control) reach the next windows', async () => {
    const put = await fetch(`${live.url}/vocabulary`, { method: 'PUT', body: JSON.stringify({ labels: ['sitting', 'standing'] }), headers: { 'content-type': 'application/json' } });
    expect(await put.json()).toEqual({ version: 2 });
    await until('a window scored with version 2', () => windowsOf(fromWs, 'cam1').some((w) => w.vocabularyVersion === 2));
    expect(windowsOf(fromWs, 'cam1').find((w) => w.vocabularyVersion === 2)!.topk.map((t: { label: string }) => t.label).sort()).toEqual(['sitting', 'standing']);

    ws.send(JSON.stringify({ type: 'vocabulary', labels: ['waving', 'clapping', 'pointing'] }));
    await until('the WebSocket reply', () => fromWs.some((m) => m.type === 'vocabulary'));
    expect(fromWs.find((m) => m.type === 'vocabulary')).toEqual({ type: 'vocabulary', version: 3 });
    await until('a window scored with version 3', () => windowsOf(fromWs, 'cam1').some((w) => w.vocabularyVersion === 3));

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: TOPICS.control, messages: [{ value: JSON.stringify({ type: 'vocabulary', labels: ['drinking', 'eating'] }) }] });
    await producer.disconnect();
    await until('a window scored with version 4', () => windowsOf(fromWs, 'cam1').some((w) => w.vocabularyVersion === 4));
    const v4 = windowsOf(fromWs, 'cam1').find((w) => w.vocabularyVersion === 4)!;
    expect(v4.topk.map((t: { label: string }) => t.label).sort()).toEqual(['drinking', 'eating']);
    expect(await (await fetch(`${live.url}/vocabulary`)).json()).toMatchObject({ version: 4, labels: ['drinking', 'eating'] });
  });

  it('RTSP server killed and restarted: the camera reconnects by itself and windows resume', async () => {
    const statesBefore = fromWs.filter((m) => m.type === 'camera').length;
    await rtsp.restart();
    await publisher.stop().catch(() => undefined);
    publisher = await publishTestPattern(rtsp.url('cam1'), { fps: 5, width: 64, height: 48 });
    await until('reconnecting then streaming', () => {
      const st = fromWs.filter((m) => m.type === 'camera').slice(statesBefore).map((m) => m.state.status as string);
      const r = st.indexOf('reconnecting');
      return r >= 0 && st.indexOf('streaming', r) > r;
    });
    const back = fromWs.filter((m) => m.type === 'camera' && m.state.status === 'streaming').pop()!.state.since as number;
    await until('windows after the reconnect', () => windowsOf(fromWs, 'cam1', back).length >= 2);
    expect(windowsOf(fromWs, 'cam1', back)[0].windowStart).toBeGreaterThanOrEqual(back); // no window spans the outage
  });

  it('Kafka broker restarted mid-run: no window is lost between the pipeline and the topic', async () => {
    // Frames of ffmpeg's start-up burst can share a capture ms, so windows are compared as a
    // multiset of their content (everything but the publish-time latency).
    const key = (m: Msg) => JSON.stringify({ ...m, latencyMs: undefined });
    const counts = (msgs: Msg[]) => {
      const c = new Map<string, number>();
      for (const m of msgs) if (m.type === 'window') c.set(key(m), (c.get(key(m)) ?? 0) + 1);
      return c;
    };
    const missing = (): number => {
      const consumed = counts(fromKafka);
      let n = 0;
      for (const [k, v] of counts(fromWs)) n += Math.max(0, v - (consumed.get(k) ?? 0));
      return n;
    };
    const before = live.kafkaSink!.peakBuffered;
    await broker.restart();
    const restartedAt = Date.now();
    await until('windows after the broker restart', () => windowsOf(fromWs, 'cam1', restartedAt).length >= 3);
    await until('the sink buffer drained', () => live.kafkaSink!.buffered === 0);
    await until('every published window consumed', () => missing() === 0, 120_000);
    expect(live.kafkaSink!.dropped).toBe(0);
    // The outage was real: windows queued in the sink while the broker was away.
    expect(live.kafkaSink!.peakBuffered).toBeGreaterThanOrEqual(Math.max(3, before));
    expect(windowsOf(fromKafka, 'cam1', restartedAt).length).toBeGreaterThanOrEqual(3);
  });
});
