// The fleet's gateway (pipelines/gateway.ts) on a real KRaft broker, with real HTTP and WebSocket
// clients: what its API writes to the cameras and vocabulary topics, and what it relays from the
// detections (transactional, read committed) and camera-states topics.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loadConfig } from '../../config/load.js';
import type { Config, KafkaConfig } from '../../config/schema.js';
import { startGateway, type GatewayHandle } from '../../pipelines/gateway.js';
import { createLogger } from '../../src/observability/logger.js';
import { createToken } from '../../src/security/tokens.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';
import { pollUntil, startRole } from '../../harness/role-process.js';

const TOPICS = { frames: 'gw.frames', cameras: 'gw.cameras', states: 'gw.states', vocabulary: 'gw.vocabulary', detections: 'gw.detections' };
const T0 = Date.parse('2026-01-01T00:00:00Z');

let broker: KafkaBroker;
let kafka: Kafka;
let gateway: GatewayHandle;
let producer: Producer;
const others: GatewayHandle[] = [];
const sockets: WebSocket[] = [];

function gatewayConfig(extra: Record<string, unknown> = {}): Config & { kafka: KafkaConfig } {
  const config = loadConfig({
    noModel: 'gateway',
    overrides: {
      ...extra,
      labels: ['walking', 'running'],
      port: 0,
      host: '127.0.0.1',
      kafka: { brokers: [broker.brokers], clientId: 'gateway-test' },
      fleet: { topics: TOPICS, partitions: { frames: 1, cameras: 2, states: 2, vocabulary: 1, detections: 2 } },
      logLevel: process.env.GATEWAY_TEST_LOG ?? 'silent',
    },
  });
  return config as Config & { kafka: KafkaConfig };
}

async function newGateway(extra: Record<string, unknown> = {}): Promise<GatewayHandle> {
  const config = gatewayConfig(extra);
  const g = await startGateway({ config, logger: createLogger({ level: config.logLevel }) });
  others.push(g);
  await g.ready;
  return g;
}

async function api(g: GatewayHandle, method: string, route: string, body?: unknown, token?: string): Promise<{ status: number; json: unknown }> {
  const headers = { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) };
  const res = await fetch(`${g.url}${route}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

interface TopicRecord {
  readonly key: string | undefined;
  readonly value: string | null;
}

/** Every record of a (non-transactional) topic, read from the beginning to its end as it is now. */
async function readTopic(topic: string): Promise<TopicRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const out: Array<TopicRecord & { partition: number; offset: number }> = [];
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => void out.push({ partition, offset: Number(message.offset), key: message.key?.toString(), value: message.value === null ? null : message.value.toString() }) });
  const done = () => ends.every((e) => Number(e.high) === 0 || out.some((r) => r.partition === e.partition && r.offset >= Number(e.high) - 1));
  await pollUntil(`${topic} read to its end`, done, 60_000);
  await consumer.disconnect();
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset).map(({ key, value }) => ({ key, value }));
}

async function recordCount(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return ends.reduce((n, e) => n + Number(e.high), 0);
}

interface Client {
  readonly received: Array<Record<string, unknown>>;
  readonly ws: WebSocket;
}

async function wsClient(g: GatewayHandle): Promise<Client> {
  const ws = new WebSocket(`${g.url.replace(/^http/, 'ws')}/ws`);
  sockets.push(ws);
  const received: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => received.push(JSON.parse(d.toString()) as Record<string, unknown>));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ type: 'subscribe', kinds: ['window', 'camera'] }));
  return { received, ws };
}

function windowMessage(camera: string, windowSeq: number, label: string): string {
  const windowStart = T0 + windowSeq * 1000;
  return JSON.stringify({
    schema: 1, type: 'window', camera, label, score: 0.9, topk: [{ label, score: 0.9 }], windowStart, windowEnd: windowStart + 1750,
    frames: 8, vocabularyVersion: 0, model: 'test', latencyMs: 5, session: 's1', windowSeq,
  });
}

async function inTransaction(id: string, messages: Array<{ key: string; value: string }>, end: 'commit' | 'abort'): Promise<void> {
  const p = kafka.producer({ transactionalId: id, maxInFlightRequests: 1, idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await p.connect();
  try {
    const txn = await p.transaction();
    await txn.send({ topic: TOPICS.detections, messages });
    await (end === 'commit' ? txn.commit() : txn.abort());
  } finally {
    await p.disconnect();
  }
}

const windowsOf = (c: Client, camera: string) => c.received.filter((m) => m.type === 'window' && m.camera === camera);
const statesOf = (c: Client, camera: string) => c.received.filter((m) => m.type === 'camera' && m.camera === camera);

describe('fleet gateway (real broker, real HTTP and WebSocket clients)', () => {
  beforeAll(async () => {
    broker = await startKafka();
    kafka = new Kafka({ clientId: 'gateway-test-client', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    gateway = await newGateway();
  }, 300_000);

  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await Promise.all(others.map((g) => g.stop()));
    await producer?.disconnect();
    await broker?.stop();
  }, 120_000);

  it('is ready once caught up, and created the compacted topics', async () => {
    expect((await api(gateway, 'GET', '/ready')).status).toBe(200);
    const admin = kafka.admin();
    await admin.connect();
    const topics = await admin.listTopics();
    await admin.disconnect();
    for (const t of Object.values(TOPICS)) expect(topics).toContain(t);
  });

  it('POST /cameras writes the camera record (key = id) to the cameras topic; GET /cameras shows it redacted', async () => {
    const camera = { id: 'door', url: 'rtsp://user:secret@192.168.1.20/stream' };
    const res = await api(gateway, 'POST', '/cameras', camera);
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ id: 'door' });
    expect(JSON.stringify(res.json)).not.toContain('secret');
    const records = await readTopic(TOPICS.cameras);
    expect(records.filter((r) => r.key === 'door').map((r) => JSON.parse(r.value!) as unknown)).toEqual([camera]);
    const list = (await api(gateway, 'GET', '/cameras')).json as Array<{ id: string; url: string }>;
    expect(list.map((c) => c.id)).toEqual(['door']);
    expect(list[0]!.url).not.toContain('secret');
    expect((await api(gateway, 'POST', '/cameras', camera)).status).toBe(409);
  }, 60_000);

  it('a bad camera is refused with 400 naming the field, and nothing is written', async () => {
    const before = await recordCount(TOPICS.cameras);
    const bad = await api(gateway, 'POST', '/cameras', { id: 'porch' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('url');
    const scheme = await api(gateway, 'POST', '/cameras', { id: 'porch', url: 'ftp://192.168.1.21/x' });
    expect(scheme.status).toBe(400);
    // The URL policy as in `run`: loopback is refused by default.
    const loop = await api(gateway, 'POST', '/cameras', { id: 'porch', url: 'rtsp://127.0.0.1/x' });
    expect(loop.status).toBe(400);
    expect((await api(gateway, 'POST', '/cameras', '{not json')).status).toBe(400);
    expect(await recordCount(TOPICS.cameras)).toBe(before);
    expect(((await api(gateway, 'GET', '/cameras')).json as unknown[]).length).toBe(1);
  }, 60_000);

  it('DELETE /cameras/:id writes a tombstone; a camera it does not know is 404', async () => {
    expect((await api(gateway, 'POST', '/cameras', { id: 'yard', url: 'rtsp://192.168.1.22/stream' })).status).toBe(201);
    expect((await api(gateway, 'DELETE', '/cameras/yard')).status).toBe(204);
    const yard = (await readTopic(TOPICS.cameras)).filter((r) => r.key === 'yard');
    expect(yard.map((r) => r.value === null)).toEqual([false, true]);
    expect((await api(gateway, 'GET', '/cameras/yard')).status).toBe(404);
    expect((await api(gateway, 'DELETE', '/cameras/yard')).status).toBe(404);
  }, 60_000);

  it('PUT /vocabulary twice writes versions n+1 and n+2; a gateway started afterwards reports n+2 and the camera set', async () => {
    const n = ((await api(gateway, 'GET', '/vocabulary')).json as { version: number }).version;
    expect(n).toBe(0); // the configured vocabulary while the topic is empty
    const first = await api(gateway, 'PUT', '/vocabulary', { labels: ['jumping', 'sitting'], templates: ['a video of {}.'] });
    expect(first).toEqual({ status: 200, json: { version: n + 1 } });
    const second = await api(gateway, 'PUT', '/vocabulary', { labels: ['waving'] });
    expect(second).toEqual({ status: 200, json: { version: n + 2 } });
    const records = (await readTopic(TOPICS.vocabulary)).map((r) => ({ key: r.key, ...(JSON.parse(r.value!) as Record<string, unknown>) }));
    expect(records).toMatchObject([
      { key: 'vocabulary', version: n + 1, labels: ['jumping', 'sitting'], templates: ['a video of {}.'] },
      // Templates left out keep the current ones.
      { key: 'vocabulary', version: n + 2, labels: ['waving'], templates: ['a video of {}.'] },
    ]);
    const bad = await api(gateway, 'PUT', '/vocabulary', { labels: [] });
    expect(bad.status).toBe(400);
    expect(await recordCount(TOPICS.vocabulary)).toBe(2);

    const late = await newGateway();
    expect((await api(late, 'GET', '/vocabulary')).json).toMatchObject({ version: n + 2, labels: ['waving'] });
    expect(((await api(late, 'GET', '/cameras')).json as Array<{ id: string }>).map((c) => c.id)).toEqual(['door']);
    // Its next version follows the latest, not its own start.
    expect((await api(late, 'PUT', '/vocabulary', { labels: ['clapping'] })).json).toEqual({ version: n + 3 });
  }, 120_000);

  it('windows of committed transactions reach a WebSocket client; those of an aborted one never do', async () => {
    const client = await wsClient(gateway);
    await inTransaction('gw-test-aborted', [{ key: 'door', value: windowMessage('door', 0, 'aborted') }], 'abort');
    await inTransaction('gw-test-committed', [1, 2].map((k) => ({ key: 'door', value: windowMessage('door', k, 'committed') })), 'commit');
    // Same key, same partition: the committed windows come after the aborted one in the log.
    await pollUntil(() => `2 committed windows; got ${JSON.stringify(client.received)}`, () => windowsOf(client, 'door').length >= 2, 30_000);
    const windows = windowsOf(client, 'door');
    expect(windows.map((m) => [m.label, m.windowSeq, m.session])).toEqual([['committed', 1, 's1'], ['committed', 2, 's1']]);
  }, 60_000);

  it('an invalid detection message is counted and skipped; the next valid one still arrives', async () => {
    const client = await wsClient(gateway);
    await producer.send({ topic: TOPICS.detections, messages: [{ key: 'door', value: 'not json' }, { key: 'door', value: JSON.stringify({ schema: 1, type: 'window', camera: 'door' }) }, { key: 'door', value: windowMessage('door', 3, 'after-bad') }] });
    await pollUntil('the window after the bad ones', () => windowsOf(client, 'door').some((m) => m.label === 'after-bad'), 30_000);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(Number(/^actionclip_fleet_invalid_records_total\{topic="detections"\} (\d+)/m.exec(metrics)?.[1])).toBe(2);
  }, 60_000);

  it('a camera state record reaches WebSocket clients, the greeting of a later client and GET /cameras', async () => {
    const client = await wsClient(gateway);
    const state = { camera: 'door', status: 'streaming', since: Date.now() - 1000, attempt: 0 };
    await producer.send({ topic: TOPICS.states, messages: [{ key: 'door', value: JSON.stringify({ schema: 1, type: 'camera', camera: 'door', state, latencyMs: 3 }) }] });
    await pollUntil('the state on the open client', () => statesOf(client, 'door').length > 0, 30_000);
    expect(statesOf(client, 'door').at(-1)).toMatchObject({ state });
    const later = await wsClient(gateway);
    await pollUntil('the greeting of a later client', () => statesOf(later, 'door').length > 0, 30_000);
    expect(statesOf(later, 'door')[0]).toMatchObject({ state });
    const door = ((await api(gateway, 'GET', '/cameras/door')).json as { state?: unknown });
    expect(door.state).toEqual(state);
  }, 60_000);

  it('what needs a model or frames is refused as not available on a gateway', async () => {
    const draft = await api(gateway, 'POST', '/vocabulary/try', { labels: ['a'] });
    expect(draft.status).toBe(404);
    expect(JSON.stringify(draft.json)).toContain('not available on a gateway');
    expect((await api(gateway, 'GET', '/cameras/door/preview')).status).toBe(404);
    expect((await api(gateway, 'GET', '/cameras/door/snapshot')).status).toBe(204);
  }, 30_000);

  it('with API tokens, adding a camera takes an admin and a vocabulary change an operator, as in `run`', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'actionclip-gateway-tokens-'));
    try {
      const [viewer, operator, admin] = (['viewer', 'operator', 'admin'] as const).map((role) => createToken(role, role));
      const tokensFile = path.join(dir, 'tokens');
      writeFileSync(tokensFile, [viewer!, operator!, admin!].map((t) => t.line).join('\n'));
      const g = await newGateway({ security: { tokensFile } });
      const before = await recordCount(TOPICS.cameras);
      const porch = { id: 'porch', url: 'rtsp://192.168.1.23/stream' };
      expect((await api(g, 'POST', '/cameras', porch)).status).toBe(401);
      expect((await api(g, 'POST', '/cameras', porch, operator!.token)).status).toBe(403);
      expect(await recordCount(TOPICS.cameras)).toBe(before);
      expect((await api(g, 'PUT', '/vocabulary', { labels: ['x'] }, viewer!.token)).status).toBe(403);
      expect((await api(g, 'POST', '/cameras', porch, admin!.token)).status).toBe(201);
      expect((await api(g, 'DELETE', '/cameras/porch', undefined, admin!.token)).status).toBe(204);
      expect(await recordCount(TOPICS.cameras)).toBe(before + 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('`actionclip-stream gateway --config F --kafka B --port 0` (the CLI from source) prints its API URL, gets ready on the fleet as it is, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'actionclip-gateway-'));
    try {
      const file = path.join(dir, 'fleet.yaml');
      // JSON is YAML; the broker comes from the flag, as in docker/compose.yaml.
      writeFileSync(file, JSON.stringify({ labels: ['walking'], host: '127.0.0.1', kafka: { brokers: ['127.0.0.1:1'] }, fleet: { topics: TOPICS }, logLevel: 'info' }));
      const cli = startRole('gateway-cli', ['gateway', '--config', file, '--kafka', broker.brokers, '--port', '0']);
      try {
        await cli.waitFor('gateway ready', { ms: 120_000 });
        expect(cli.log()).toMatch(/API http:\/\/127\.0\.0\.1:\d+/);
        const version = ((await api(gateway, 'GET', '/vocabulary')).json as { version: number }).version;
        const res = await fetch(`${cli.url()}/vocabulary`);
        expect(((await res.json()) as { version: number }).version).toBe(version);
        expect((await fetch(`${cli.url()}/ready`)).status).toBe(200);
        cli.child.kill('SIGTERM');
        expect(await cli.exited).toBe(0);
      } finally {
        await cli.stop(5000);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('after a broker restart it relays states and committed windows again, and sends no state twice', async () => {
    const client = await wsClient(gateway);
    await pollUntil('the greeting', () => statesOf(client, 'door').length > 0, 30_000);
    await broker.restart();
    const state = { camera: 'door', status: 'reconnecting', since: Date.now(), attempt: 1, reason: 'after the restart' };
    await pollUntil('the states topic taking writes again', async () => {
      try {
        await producer.send({ topic: TOPICS.states, messages: [{ key: 'door', value: JSON.stringify({ schema: 1, type: 'camera', camera: 'door', state, latencyMs: 1 }) }] });
        return true;
      } catch {
        return false;
      }
    }, 120_000);
    await inTransaction('gw-test-after-restart', [{ key: 'door', value: windowMessage('door', 10, 'after-restart') }], 'commit');
    await pollUntil('the new state and window', () => statesOf(client, 'door').some((m) => (m.state as { reason?: string }).reason === 'after the restart') && windowsOf(client, 'door').some((m) => m.label === 'after-restart'), 120_000);
    // The greeting, then the one new state: nothing read again was sent again.
    expect(statesOf(client, 'door').map((m) => (m.state as { status: string }).status)).toEqual(['streaming', 'reconnecting']);
  }, 300_000);
});
