// The fleet as a deployment runs it (docs/scale-out.md): a real KRaft broker, a real mediamtx with
// four ffmpeg test-pattern cameras, and separate OS processes for 2 ingest, 2 infer and 1 gateway
// (the CLI from source, a tiny random CLIP). Crashes are real `kill -9`s; the broker restart is a
// real restart. What every step checks in the end: among committed detections, each camera's
// window numbers within an ingest session are gapless and none appears twice.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { writeSafetensors } from '../../src/model/weights/safetensors.js';
import { syntheticClipWeights } from '../../src/model/weights/synthetic-weights.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';
import { publishTestPattern, startRtspServer, type Publisher, type RtspServer } from '../../harness/rtsp-server.js';
import { pollUntil, startRole, type RoleProcess } from '../../harness/role-process.js';

const TINY = { name: 'tiny-random', patch: 16, resolution: 32, visionWidth: 64, visionLayers: 1, embedDim: 32, textWidth: 64, textLayers: 1 };
const CAMERAS = ['cam1', 'cam2', 'cam3', 'cam4'];
const TOPICS = { frames: 'ft.frames', cameras: 'ft.cameras', states: 'ft.states', vocabulary: 'ft.vocabulary', detections: 'ft.detections' };

interface Received {
  readonly at: number;
  readonly msg: Record<string, unknown>;
}

let dir: string;
let broker: KafkaBroker;
let rtsp: RtspServer;
const publishers: Publisher[] = [];
const roles: RoleProcess[] = [];
let gateway: RoleProcess;
let ws: WebSocket;
const received: Received[] = [];

function writeConfig(): string {
  const file = path.join(dir, 'fleet.yaml');
  const config = {
    weights: path.join(dir, 'tiny.safetensors'),
    engine: 'onnx',
    labels: ['walking', 'running'],
    window: 8,
    stride: 4,
    fps: 4,
    decode: { width: 32, height: 32 },
    port: 0,
    host: '127.0.0.1',
    security: { insecureNoAuth: true, cameraUrls: { allowLoopback: true } },
    kafka: { brokers: [broker.brokers], clientId: 'fleet-test', sessionTimeoutMs: 6000 },
    fleet: { topics: TOPICS, partitions: { frames: 4, cameras: 4, states: 2, vocabulary: 1, detections: 2 } },
    supervision: { stallTimeoutSec: 10, connectTimeoutSec: 20, backoff: { initialMs: 200, maxMs: 2000, jitter: 0.1 } },
    textCache: { enabled: false },
    logLevel: 'info',
  };
  writeFileSync(file, JSON.stringify(config)); // JSON is YAML
  return file;
}

function role(name: string, argv: string[]): RoleProcess {
  const r = startRole(name, argv);
  roles.push(r);
  return r;
}

const windows = (since = 0): Array<Record<string, unknown>> => received.filter((r) => r.at >= since && r.msg.type === 'window').map((r) => r.msg);
const opened = (r: RoleProcess, id: string): number => r.log().split(`camera ${id} opened`).length - 1;
const closed = (r: RoleProcess, id: string): number => r.log().split(`camera ${id} closed`).length - 1;
// A rebalance may already have moved cameras between the ingest processes: what one holds now is what it opened and has not closed since.
const holding = (r: RoleProcess): string[] => CAMERAS.filter((id) => opened(r, id) > closed(r, id));
/** Frames partitions an infer process rebuilt (it logs each as it takes it). */
const partitionsRebuilt = (log: string): Set<number> => new Set([...log.matchAll(/"partition":(\d+)[^\n]*partition state rebuilt/g)].map((m) => Number(m[1])));

/** Until every camera has at least `n` windows received after `since` (that satisfy `extra`). */
async function windowsOfEveryCamera(since: number, n: number, extra: (m: Record<string, unknown>) => boolean = () => true, ms = 90_000): Promise<void> {
  const count = (id: string) => windows(since).filter((m) => m.camera === id && extra(m)).length;
  await pollUntil(() => `${n} windows of each camera; have ${CAMERAS.map((c) => `${c}=${count(c)}`).join(' ')}`, () => CAMERAS.every((c) => count(c) >= n), ms);
}

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${gateway.url()}${route}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json().catch(() => undefined) };
}

/** Every committed window message on the detections topic (read committed: the kafkajs default). */
async function committedWindows(): Promise<Array<Record<string, unknown>>> {
  const kafka = new Kafka({ clientId: 'fleet-reader', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(TOPICS.detections);
  await admin.disconnect();
  const out: Array<Record<string, unknown>> = [];
  const consumer = kafka.consumer({ groupId: `fleet-reader-${Date.now()}` });
  const reached = new Map<number, string>();
  await consumer.connect();
  await consumer.subscribe({ topic: TOPICS.detections, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      reached.set(partition, message.offset);
      const m = JSON.parse(message.value!.toString()) as Record<string, unknown>;
      if (m.type === 'window') out.push(m);
    },
  });
  // Transaction markers take offsets too: done when each partition's last data offset is read.
  const lastData = (p: number) => Number(ends.find((e) => e.partition === p)!.offset) - 1;
  await pollUntil('the detections topic read to its end', () => ends.every((e) => Number(e.offset) === 0 || Number(reached.get(e.partition) ?? -1) >= lastData(e.partition) - 1), 60_000);
  await new Promise((r) => setTimeout(r, 1000));
  await consumer.disconnect();
  return out;
}

describe('a fleet: 2 ingest, 2 infer, 1 gateway over a real broker and real RTSP cameras', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'actionclip-fleet-'));
    [broker, rtsp] = await Promise.all([startKafka(), startRtspServer(), writeSafetensors(path.join(dir, 'tiny.safetensors'), syntheticClipWeights(TINY))]);
    for (const id of CAMERAS) publishers.push(await publishTestPattern(rtsp.url(id), { fps: 8, width: 160, height: 120 }));
    const config = writeConfig();
    gateway = role('gateway', ['gateway', '--config', config]);
    const starting = [role('ingest-a', ['ingest', '--config', config]), role('ingest-b', ['ingest', '--config', config]), role('infer-a', ['infer', '--config', config]), role('infer-b', ['infer', '--config', config])];
    await gateway.waitFor('gateway ready');
    await Promise.all(starting.map((r) => r.waitFor(/(ingest|infer) ready/)));
    ws = new WebSocket(`${gateway.url().replace(/^http/, 'ws')}/ws`);
    ws.on('message', (d) => received.push({ at: Date.now(), msg: JSON.parse(d.toString()) as Record<string, unknown> }));
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    ws.send(JSON.stringify({ type: 'subscribe', kinds: ['window', 'camera'] }));
  }, 300_000);

  afterAll(async () => {
    ws?.terminate();
    await Promise.all(roles.map((r) => r.stop(10_000)));
    await Promise.all(publishers.map((p) => p.stop()));
    await rtsp?.stop();
    await broker?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('opens every camera added through the gateway exactly once, and its windows reach a WebSocket client of the gateway', async () => {
    for (const id of CAMERAS) expect((await api('POST', '/cameras', { id, url: rtsp.url(id) })).status).toBe(201);
    await windowsOfEveryCamera(0, 2);
    const [ingestA, ingestB] = [roles[1]!, roles[2]!];
    for (const id of CAMERAS) expect(opened(ingestA, id) + opened(ingestB, id), `${id} opened once`).toBe(1);
    for (const m of windows()) expect(m).toMatchObject({ session: expect.any(String), windowSeq: expect.any(Number), vocabularyVersion: expect.any(Number) });
  }, 180_000);

  it('kill -9 of an infer process: its cameras go on on the other one', async () => {
    // The victim is one that holds frames: it rebuilt a partition's state when the partition's first batch came.
    const [inferA, inferB] = [roles[3]!, roles[4]!];
    const holds = (r: RoleProcess) => partitionsRebuilt(r.log());
    const victim = holds(inferA).size >= holds(inferB).size ? inferA : inferB;
    const survivor = victim === inferA ? inferB : inferA;
    const moved = [...holds(victim)];
    expect(moved.length).toBeGreaterThan(0);
    const from = survivor.log().length;
    const killedAt = Date.now();
    await victim.kill9();
    roles.splice(roles.indexOf(victim), 1);
    await pollUntil('the survivor rebuilding the victim\'s partitions', () => moved.every((p) => partitionsRebuilt(survivor.log().slice(from)).has(p)), 60_000);
    await windowsOfEveryCamera(killedAt + 1000, 3);
  }, 180_000);

  it('kill -9 of an ingest process: the other reopens its cameras, and their states show the outage', async () => {
    const [ingestA, ingestB] = [roles[1]!, roles[2]!];
    const victim = holding(ingestA).length >= holding(ingestB).length ? ingestA : ingestB;
    const survivor = victim === ingestA ? ingestB : ingestA;
    const moved = holding(victim);
    expect(moved.length).toBeGreaterThan(0);
    const from = survivor.log().length;
    const killedAt = Date.now();
    await victim.kill9();
    for (const id of moved) await survivor.waitFor(`camera ${id} opened`, { from, ms: 60_000 });
    // The new owner's session starts with `connecting`: the outage is visible to the gateway's clients.
    await pollUntil('a connecting state of each moved camera after the kill', () => moved.every((id) => received.some((r) => r.at > killedAt && r.msg.type === 'camera' && r.msg.camera === id && (r.msg.state as { status: string }).status !== 'streaming')), 60_000);
    await windowsOfEveryCamera(Date.now(), 2);
  }, 180_000);

  it('a camera added and removed through the gateway is opened and closed by an ingest process', async () => {
    const ingest = roles[1]!.child.exitCode === null && roles[1]!.child.signalCode === null ? roles[1]! : roles[2]!;
    const from = ingest.log().length;
    expect((await api('POST', '/cameras', { id: 'cam5', url: rtsp.url('cam1') })).status).toBe(201);
    await ingest.waitFor('camera cam5 opened', { from, ms: 60_000 });
    expect((await api('DELETE', '/cameras/cam5')).status).toBeLessThan(300);
    await ingest.waitFor('camera cam5 closed', { from, ms: 60_000 });
  }, 180_000);

  it('a vocabulary change through the gateway reaches every camera; an infer process started afterwards starts on it', async () => {
    const put = await api('PUT', '/vocabulary', { labels: ['jumping', 'sitting', 'waving'] });
    expect(put.status).toBe(200);
    const version = (put.json as { version: number }).version;
    const changedAt = Date.now();
    await windowsOfEveryCamera(changedAt, 1, (m) => m.vocabularyVersion === version);
    const late = role('infer-c', ['infer', '--config', path.join(dir, 'fleet.yaml')]);
    await late.waitFor('infer ready');
    // The only infer process left after this is the late one: every window after it must carry the new version.
    const killedAt = Date.now();
    for (const r of roles.filter((x) => x.name.startsWith('infer-') && x !== late)) await r.kill9();
    await windowsOfEveryCamera(killedAt + 1000, 3);
    const after = windows(killedAt + 1000);
    expect(after.length).toBeGreaterThanOrEqual(3 * CAMERAS.length);
    for (const m of after) expect(m.vocabularyVersion).toBe(version);
  }, 240_000);

  it('a broker restart loses nothing: windows resume, and committed window numbers stay gapless and unique', async () => {
    await broker.restart();
    await windowsOfEveryCamera(Date.now(), 3, () => true, 180_000);
    const committed = await committedWindows();
    const bySession = new Map<string, number[]>();
    for (const m of committed) {
      const key = `${String(m.camera)}/${String(m.session)}`;
      bySession.set(key, [...(bySession.get(key) ?? []), m.windowSeq as number]);
    }
    for (const id of CAMERAS) expect([...bySession.keys()].some((k) => k.startsWith(`${id}/`)), `${id} has committed windows`).toBe(true);
    for (const [key, seqs] of bySession) {
      const sorted = [...seqs].sort((a, b) => a - b);
      expect(new Set(sorted).size, `${key}: no window number twice`).toBe(sorted.length);
      expect(sorted, `${key}: gapless from 0`).toEqual(sorted.map((_, i) => i));
    }
  }, 300_000);
});
