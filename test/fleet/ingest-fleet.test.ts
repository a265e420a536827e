// Two `actionclip-stream ingest` processes (the CLI from source) sharing one ingest group, a real
// broker and real RTSP cameras (mediamtx; every camera reads one looped test pattern): each camera
// is opened by exactly one process; after one is killed with SIGKILL its cameras are opened by the
// other within the group's session timeout; frames reach the frames topic with session and seq.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, Partitioners, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixtures.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';
import { publishTestPattern, startRtspServer, type Publisher, type RtspServer } from '../../harness/rtsp-server.js';

const BIN = path.join(REPO_ROOT, 'bin', 'actionclip-stream.js');
const ENV = { ...process.env, ACTIONCLIP_FROM_SOURCE: '1', ACTIONCLIP_LOG_FORMAT: 'json' };
const CAMERAS = ['cam1', 'cam2', 'cam3', 'cam4'];
const TOPICS = { frames: 'f.frames', cameras: 'f.cameras', states: 'f.states', vocabulary: 'f.vocabulary', detections: 'f.detections' };

let dir: string;
let broker: KafkaBroker;
let rtsp: RtspServer;
let pattern: Publisher;
let kafka: Kafka;

interface Ingest {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  log(): string;
  /** Cameras this process logged `camera <id> opened` for, once per line. */
  opened(): string[];
  waitFor(text: string, ms?: number): Promise<void>;
}

async function until(what: () => string, cond: () => boolean, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startIngest(configFile: string): Ingest {
  const child = spawn(process.execPath, [BIN, 'ingest', '--config', configFile], { cwd: REPO_ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const opened = (): string[] => [...log.matchAll(/"msg":"camera (\S+) opened"/g)].map((m) => m[1]!);
  return { child, exited, log: () => log, opened, waitFor: (text, ms = 120_000) => until(() => `"${text}" in\n${log.slice(-3000)}`, () => log.includes(text), ms) };
}

async function readFrames(into: Array<{ camera: string; session: string; seq: number }>): Promise<Consumer> {
  const c = kafka.consumer({ groupId: `reader-${Date.now()}` });
  await c.connect();
  await c.subscribe({ topic: TOPICS.frames, fromBeginning: true });
  await c.run({ eachMessage: async ({ message: m }) => void into.push({ camera: m.key!.toString(), session: String(m.headers!.session), seq: Number(String(m.headers!.seq)) }) });
  return c;
}

/** The latest `camera` message's status per camera in the states topic. */
async function readStates(into: Map<string, string>): Promise<Consumer> {
  const c = kafka.consumer({ groupId: `states-${Date.now()}` });
  await c.connect();
  await c.subscribe({ topic: TOPICS.states, fromBeginning: true });
  await c.run({ eachMessage: async ({ message: m }) => void into.set(m.key!.toString(), (JSON.parse(m.value!.toString()) as { state: { status: string } }).state.status) });
  return c;
}

describe('actionclip-stream ingest: two processes share the cameras (real Kafka, RTSP)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'actionclip-ingest-'));
    [broker, rtsp] = await Promise.all([startKafka(), startRtspServer()]);
    pattern = await publishTestPattern(rtsp.url('pattern'), { fps: 5, width: 64, height: 48 });
    kafka = new Kafka({ clientId: 'ingest-test', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
  });

  afterAll(async () => {
    await pattern?.stop();
    await Promise.all([rtsp?.stop(), broker?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('each camera opened once; after kill -9 of one process its cameras open in the other; SIGTERM exits 0', async () => {
    const configFile = path.join(dir, 'ingest.json');
    writeFileSync(configFile, JSON.stringify({
      kafka: { brokers: [broker.brokers], sessionTimeoutMs: 6000 },
      fleet: { topics: TOPICS, partitions: { frames: 2, cameras: 4, states: 1, vocabulary: 1, detections: 1 } },
      fps: 2,
      decode: { width: 32, height: 32 },
      logLevel: 'info',
    }));
    const procs = [startIngest(configFile), startIngest(configFile)];
    const frames: Array<{ camera: string; session: string; seq: number }> = [];
    let reader: Consumer | undefined;
    let states: Consumer | undefined;
    const statesLatest = new Map<string, string>();
    try {
      // Both started at once: both create the topics (one of them finds them made), both join.
      await Promise.all(procs.map((p) => p.waitFor('"msg":"ingest ready"')));
      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      await producer.send({ topic: TOPICS.cameras, messages: CAMERAS.map((id) => ({ key: id, value: JSON.stringify({ id, url: rtsp.url('pattern').replace('rtsp://', 'rtsp://viewer:hunter2@') }) })) });
      await producer.disconnect();
      const allOpened = (): string[] => procs.flatMap((p) => p.opened()).sort();
      await until(() => `every camera opened: ${allOpened().join()}`, () => allOpened().length >= CAMERAS.length);
      reader = await readFrames(frames);
      states = await readStates(statesLatest);
      await until(() => `frames of every camera: ${[...new Set(frames.map((f) => f.camera))].join()}`, () => CAMERAS.every((c) => frames.some((f) => f.camera === c && f.seq >= 2)));
      expect(allOpened()).toEqual(CAMERAS);

      // The one holding the most cameras dies without a word.
      const [victim, survivor] = procs[0]!.opened().length >= procs[1]!.opened().length ? [procs[0]!, procs[1]!] : [procs[1]!, procs[0]!];
      const lost = victim.opened();
      const kept = survivor.opened();
      victim.child.kill('SIGKILL');
      await victim.exited;
      await until(() => `survivor opens ${lost.join()}: ${survivor.opened().join()}`, () => lost.every((id) => survivor.opened().includes(id)), 60_000);
      // The survivor kept its own cameras through the rebalance and opened each lost one once.
      expect(survivor.opened().sort()).toEqual([...kept, ...lost].sort());
      const sessionsBefore = new Set(frames.map((f) => f.session));
      await until(() => 'frames of the moved cameras from new sessions', () => lost.every((c) => frames.some((f) => f.camera === c && !sessionsBefore.has(f.session) && f.seq >= 1)));
      // Within every session numbers are gapless from 0 (frames of one camera share a partition: in order).
      for (const s of new Set(frames.map((f) => f.session))) {
        const seqs = frames.filter((f) => f.session === s).map((f) => f.seq);
        expect(seqs).toEqual(seqs.map((_, i) => i));
      }

      // Camera states: the latest of every camera is the survivor's `streaming`.
      await until(() => 'every camera streaming in the states topic', () => statesLatest.size === CAMERAS.length && [...statesLatest.values()].every((st) => st === 'streaming'));
      if (process.env.SHOW_INGEST_LOG === '1') console.log(survivor.log());
      survivor.child.kill('SIGTERM');
      expect(await survivor.exited).toBe(0);
      expect(survivor.log()).toMatch(/"msg":"camera cam\d closed"/);
      for (const p of procs) expect(p.log()).not.toContain('hunter2');
    } finally {
      await Promise.all([reader?.disconnect(), states?.disconnect()]);
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    }
  });
});
