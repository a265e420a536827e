// `actionclip-stream infer` as a fleet runs it: real child processes (the CLI from source), a real
// KRaft broker, a tiny random CLIP. The test plays ingest (raw RGB frames with the fleet headers,
// each camera on a partition of its own) and gateway (vocabulary records), and reads the
// detections topic read-committed, as a gateway does.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_FRAME_HEADERS, VOCABULARY_KEY, type VocabularyRecord } from '../../src/fleet/records.js';
import { writeSafetensors } from '../../src/model/weights/safetensors.js';
import { syntheticClipWeights } from '../../src/model/weights/synthetic-weights.js';
import { startCli, type CliProcess } from '../support/cli.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';
import { sleep } from '../../harness/processes.js';

const ENV = { ...process.env, ACTIONCLIP_FROM_SOURCE: '1', ACTIONCLIP_LOG_FORMAT: '' };
const SIZE = 32;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const TINY = { name: 'tiny-random', patch: 16, resolution: 32, visionWidth: 64, visionLayers: 1, embedDim: 32, textWidth: 64, textLayers: 1 };
const CONFIG_LABELS = ['walking', 'running'];

interface Cam {
  readonly id: string;
  readonly partition: number;
  readonly session: string;
}

interface Detection {
  readonly type: string;
  readonly camera: string;
  readonly session: string;
  readonly windowSeq: number;
  readonly vocabularyVersion: number;
  readonly label: string;
  readonly frames: number;
  readonly windowStart: number;
  readonly windowEnd: number;
}

let dir: string;
let broker: KafkaBroker;
let kafka: Kafka;
let producer: Producer;
const children: CliProcess[] = [];
const consumers: Consumer[] = [];

const topicsOf = (name: string) => ({ frames: `${name}.frames`, cameras: `${name}.cameras`, states: `${name}.states`, vocabulary: `${name}.vocabulary`, detections: `${name}.detections` });

async function createTopics(name: string, framePartitions: number, extra: string[] = []): Promise<void> {
  const t = topicsOf(name);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: t.frames, numPartitions: framePartitions },
      { topic: t.detections, numPartitions: 2 },
      { topic: t.vocabulary, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      ...[`${name}.dlq`, ...extra].map((topic) => ({ topic, numPartitions: 2 })),
    ],
  });
  await admin.disconnect();
}

function startInfer(name: string, o: { groupId: string; detections?: string }): CliProcess {
  const file = path.join(dir, `${name}-${o.groupId}.yaml`);
  const config = {
    weights: path.join(dir, 'tiny.safetensors'),
    engine: 'onnx',
    labels: CONFIG_LABELS,
    window: 8,
    stride: 4,
    decode: { width: SIZE, height: SIZE },
    kafka: { brokers: [broker.brokers], sessionTimeoutMs: 6000, deadLetterTopic: `${name}.dlq` },
    fleet: { topics: { ...topicsOf(name), ...(o.detections === undefined ? {} : { detections: o.detections }) }, inferGroupId: o.groupId, cameraIdleSec: 600 },
    batching: { maxBatch: 64, maxWaitMs: 50, queueCapacity: 256 },
    textCache: { enabled: false },
    shutdown: { timeoutSec: 30 },
    logLevel: 'info',
  };
  writeFileSync(file, JSON.stringify(config)); // JSON is YAML
  const child = startCli(['infer', '--config', file], ENV);
  children.push(child);
  return child;
}

/** Frames seq `from`..`to`-1 of each camera, as ingest writes them. */
async function sendFrames(topic: string, cams: readonly Cam[], from: number, to: number): Promise<void> {
  const messages = [];
  for (let seq = from; seq < to; seq++) {
    for (const [i, cam] of cams.entries()) {
      const headers = { width: String(SIZE), height: String(SIZE), format: 'rgb', ts: String(T0 + seq * 250), [FLEET_FRAME_HEADERS.seq]: String(seq), [FLEET_FRAME_HEADERS.session]: cam.session };
      messages.push({ key: cam.id, partition: cam.partition, value: Buffer.alloc(SIZE * SIZE * 3, (seq * 37 + i * 71) % 256), headers });
    }
  }
  await producer.send({ topic, messages });
}

async function writeVocabulary(topic: string, record: Omit<VocabularyRecord, 'writtenAt'>): Promise<void> {
  await producer.send({ topic, messages: [{ key: VOCABULARY_KEY, value: JSON.stringify({ ...record, writtenAt: Date.now() }) }] });
}

/** Every window message of a topic, read committed (kafkajs' default), from the beginning. */
async function readDetections(topic: string): Promise<Detection[]> {
  const into: Detection[] = [];
  const c = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}` });
  consumers.push(c);
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void into.push(JSON.parse(message.value!.toString()) as Detection) });
  return into;
}

async function until(what: () => string, cond: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what()}`);
    await sleep(200);
  }
}

/** Window numbers of a (camera, session), in arrival order. */
const seqsOf = (ds: readonly Detection[], cam: Cam): number[] => ds.filter((d) => d.type === 'window' && d.camera === cam.id && d.session === cam.session).map((d) => d.windowSeq);
/** Windows of window 8 / stride 4 in `frames` frames. */
const windowsIn = (frames: number): number => Math.floor((frames - 8) / 4) + 1;
const range = (n: number): number[] => Array.from({ length: n }, (_, k) => k);
/** Every window holds its own frames kS..kS+W-1 (none padded: a re-read from R lost none). */
function expectWholeWindows(ds: readonly Detection[]): void {
  for (const d of ds) expect([d.windowStart, d.windowEnd], `${d.camera} window ${d.windowSeq}`).toEqual([T0 + 4 * d.windowSeq * 250, T0 + (4 * d.windowSeq + 7) * 250]);
}

describe('actionclip-stream infer (real Kafka, child processes)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'actionclip-infer-'));
    [broker] = await Promise.all([startKafka(), writeSafetensors(path.join(dir, 'tiny.safetensors'), syntheticClipWeights(TINY))]);
    kafka = new Kafka({ clientId: 'infer-test', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  }, 300_000);

  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
    await producer?.disconnect().catch(() => undefined);
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('one process: windows of 2 cameras numbered 0,1,2,... without gaps, scored with the topic\'s vocabulary version', async () => {
    await createTopics('one', 2);
    const t = topicsOf('one');
    await writeVocabulary(t.vocabulary, { version: 3, labels: ['waving', 'clapping'] });
    const infer = startInfer('one', { groupId: 'one-infer' });
    await infer.waitFor('infer ready');
    const cams: Cam[] = [{ id: 'cam-a', partition: 0, session: 'ing-1' }, { id: 'cam-b', partition: 1, session: 'ing-1' }];
    const got = await readDetections(t.detections);
    const dead = await readDetections('one.dlq');
    await sendFrames(t.frames, cams, 0, 12);
    // A frame without its number is dead-lettered (in the batch's transaction) and numbering goes on.
    await producer.send({ topic: t.frames, messages: [{ key: 'cam-a', partition: 0, value: Buffer.from('{"not":"a frame"}'), headers: { width: '1', height: '1' } }] });
    await sendFrames(t.frames, cams, 12, 24);
    await until(() => `10 windows, got ${got.length}\n${infer.log().slice(-2000)}`, () => got.length >= 10 && dead.length >= 1);
    await sleep(2000); // nothing more may come
    for (const cam of cams) expect(seqsOf(got, cam)).toEqual(range(windowsIn(24)));
    expect(new Set(got.map((d) => d.vocabularyVersion))).toEqual(new Set([3]));
    for (const d of got) expect(['waving', 'clapping']).toContain(d.label);
    expect(got.every((d) => d.frames === 8)).toBe(true);
    expectWholeWindows(got);
    infer.child.kill('SIGTERM');
    expect(await infer.exited).toBe(0);
  }, 300_000);

  it('two processes, one killed with SIGKILL while frames keep coming: every window exactly once, the survivor takes over', async () => {
    await createTopics('two', 4);
    const t = topicsOf('two');
    const a = startInfer('two', { groupId: 'two-infer' });
    await a.waitFor('infer ready');
    const b = startInfer('two', { groupId: 'two-infer' });
    await b.waitFor('infer ready');
    const aLogAtJoin = a.log().length;
    const cams: Cam[] = range(4).map((i) => ({ id: `cam-${i}`, partition: i, session: `ing-${i}` }));
    const got = await readDetections(t.detections);
    let seq = 0;
    const round = async (): Promise<void> => {
      await sendFrames(t.frames, cams, seq, seq + 2);
      seq += 2;
      await sleep(100);
    };
    // Both own partitions (a rebuilt one after b joined) and windows flow.
    while (!(a.log().slice(aLogAtJoin).includes('partition state rebuilt') && b.log().includes('partition state rebuilt') && got.length >= 8)) {
      await round();
      if (seq > 2000) throw new Error(`no windows from both processes\n${a.log().slice(-1500)}\n${b.log().slice(-1500)}`);
    }
    a.child.kill('SIGKILL');
    await a.exited;
    const atKill = seq;
    // Past the session timeout (6 s): the survivor is given the dead process's partitions meanwhile.
    while (seq < atKill + 160) await round();
    const frames = seq;
    const expected = cams.length * windowsIn(frames);
    await until(() => `${expected} windows, got ${got.length}\n${b.log().slice(-2500)}`, () => got.length >= expected, 180_000);
    await sleep(3000); // duplicates would arrive now
    for (const cam of cams) expect(seqsOf(got, cam)).toEqual(range(windowsIn(frames)));
    expect(got.length).toBe(expected);
    expectWholeWindows(got);
    expect(b.log()).toMatch(/re-reading from its re-read point|partition state rebuilt/);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  }, 400_000);

  it('a broker restart while windows are published: partitions are rebuilt from their re-read point, every window exactly once', async () => {
    await createTopics('restart', 2);
    const t = topicsOf('restart');
    const infer = startInfer('restart', { groupId: 'restart-infer' });
    await infer.waitFor('infer ready');
    const cams: Cam[] = [{ id: 'cam-r0', partition: 0, session: 'ing-r' }, { id: 'cam-r1', partition: 1, session: 'ing-r' }];
    const got = await readDetections(t.detections);
    let seq = 0;
    const send = async (n: number): Promise<void> => {
      for (const end = seq + n; seq < end; seq += 2) {
        await sendFrames(t.frames, cams, seq, seq + 2);
        await sleep(50);
      }
    };
    await send(40);
    await until(() => `windows before the restart, got ${got.length}`, () => got.length >= 4);
    const restarted = broker.restart();
    await send(40); // the test's producer waits the broker out
    await restarted;
    await send(40);
    const expected = cams.length * windowsIn(seq);
    await until(() => `${expected} windows, got ${got.length}\n${infer.log().slice(-2500)}`, () => got.length >= expected, 180_000);
    await sleep(3000);
    for (const cam of cams) expect(seqsOf(got, cam)).toEqual(range(windowsIn(seq)));
    expect(got.length).toBe(expected);
    expectWholeWindows(got);
    infer.child.kill('SIGTERM');
    expect(await infer.exited).toBe(0);
  }, 400_000);

  it('a vocabulary record written after start changes the version of later windows; a process started later starts on it', async () => {
    await createTopics('voc', 1, ['voc.detections2']);
    const t = topicsOf('voc');
    const first = startInfer('voc', { groupId: 'voc-1' });
    await first.waitFor('infer ready');
    expect(first.log()).toMatch(/"vocabularyVersion":0/);
    const cam: Cam = { id: 'cam-v', partition: 0, session: 'ing-v' };
    const got = await readDetections(t.detections);
    await sendFrames(t.frames, [cam], 0, 24);
    await until(() => `5 windows, got ${got.length}`, () => got.length >= windowsIn(24));
    expect(got.map((d) => d.vocabularyVersion)).toEqual(range(5).map(() => 0));
    for (const d of got) expect(CONFIG_LABELS).toContain(d.label);

    const NEW_LABELS = ['jumping', 'sitting', 'waving'];
    await producer.send({ topic: t.vocabulary, messages: [{ key: VOCABULARY_KEY, value: JSON.stringify({ version: 'two', labels: [] }) }] });
    await writeVocabulary(t.vocabulary, { version: 1, labels: NEW_LABELS });
    await first.waitFor('vocabulary version active');
    expect(first.log()).toContain('invalid vocabulary record: skipped');
    await sendFrames(t.frames, [cam], 24, 48);
    await until(() => `11 windows, got ${got.length}`, () => got.length >= windowsIn(48));
    expect(seqsOf(got, cam)).toEqual(range(windowsIn(48)));
    for (const d of got.slice(windowsIn(24))) {
      expect(d.vocabularyVersion).toBe(1);
      expect(NEW_LABELS).toContain(d.label);
    }

    // Another group reads every frame again: all its windows are scored with version 1.
    const later = startInfer('voc', { groupId: 'voc-2', detections: 'voc.detections2' });
    await later.waitFor('infer ready');
    expect(later.log()).toMatch(/"vocabularyVersion":1/);
    const again = await readDetections('voc.detections2');
    await until(() => `11 windows, got ${again.length}`, () => again.length >= windowsIn(48));
    expect(seqsOf(again, cam)).toEqual(range(windowsIn(48)));
    expect(new Set(again.map((d) => d.vocabularyVersion))).toEqual(new Set([1]));
    first.child.kill('SIGTERM');
    later.child.kill('SIGTERM');
    expect([await first.exited, await later.exited]).toEqual([0, 0]);
  }, 300_000);
});
