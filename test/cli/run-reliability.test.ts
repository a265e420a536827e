// `actionclip-stream run` as a deployment stops and crashes it: a real child process (the CLI from
// source), a real KRaft broker, a real WebSocket client and a real JSONL file. Frames come in over
// Kafka, so which frames were captured before a signal is known exactly: window k of camera `k`
// starts at frame 4k (window 8, stride 4) and is identified by its first frame's capture time.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, Partitioners, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { writeSafetensors } from '../../src/model/weights/safetensors.js';
import { syntheticClipWeights } from '../../src/model/weights/synthetic-weights.js';
import { resolveFfmpeg } from '../../src/sources/ffmpeg-path.js';
import { REPO_ROOT } from '../support/fixtures.js';
import { freePort } from '../../harness/processes.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';

const BIN = path.join(REPO_ROOT, 'bin', 'actionclip-stream.js');
const ENV = { ...process.env, ACTIONCLIP_FROM_SOURCE: '1', ACTIONCLIP_LOG_FORMAT: '' };
const SIZE = 32;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const FRAME_MS = 250;
/** A tiny random CLIP: the real loading path, seconds to start. */
const TINY = { name: 'tiny-random', patch: 16, resolution: 32, visionWidth: 64, visionLayers: 1, embedDim: 32, textWidth: 64, textLayers: 1 };

let dir: string;
let broker: KafkaBroker;
let kafka: Kafka;

interface Run {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  log(): string;
  /** Resolves once a log line contains `text`. */
  waitFor(text: string, ms?: number): Promise<void>;
  url(): string;
}

function startRun(configFile: string): Run {
  const child = spawn(process.execPath, [BIN, 'run', '--config', configFile], { cwd: REPO_ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    log: () => log,
    waitFor: (text, ms = 120_000) => until(`"${text}" in the log\n${log.slice(-3000)}`, () => log.includes(text), ms, () => child.exitCode !== null),
    url: () => /API (http:\/\/127\.0\.0\.1:\d+)/.exec(log)![1]!,
  };
}

async function until(what: string | (() => string), cond: () => boolean, ms = 90_000, abort: () => boolean = () => false): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end || abort()) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function writeConfig(name: string, o: { framesTopic: string; detectionsTopic: string; groupId: string; jsonl?: string; maxWaitMs: number }): string {
  const file = path.join(dir, `${name}.yaml`);
  // JSON is YAML.
  const config = {
    weights: path.join(dir, 'tiny.safetensors'),
    engine: 'onnx',
    labels: ['walking', 'running'],
    window: 8,
    stride: 4,
    decode: { width: SIZE, height: SIZE },
    port: 0,
    host: '127.0.0.1',
    kafka: { brokers: [broker.brokers], framesTopic: o.framesTopic, detectionsTopic: o.detectionsTopic, groupId: o.groupId, sessionTimeoutMs: 6000 },
    // Room for every frame: no frame may be dropped for load (drop-oldest) in these tests.
    batching: { maxBatch: 64, maxWaitMs: o.maxWaitMs, queueCapacity: 256 },
    ...(o.jsonl === undefined ? {} : { jsonl: o.jsonl }),
    shutdown: { timeoutSec: 60 },
    textCache: { enabled: false },
    logLevel: 'info',
  };
  writeFileSync(file, JSON.stringify(config));
  return file;
}

async function produceFrames(topic: string, from: number, to: number): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const messages = [];
  for (let i = from; i < to; i++) messages.push({ key: 'k', value: Buffer.alloc(SIZE * SIZE * 3, (i * 37) % 256), headers: { width: String(SIZE), height: String(SIZE), ts: String(T0 + i * FRAME_MS) } });
  await producer.send({ topic, messages });
  await producer.disconnect();
}

/** Window starts (frame indices) of the `window` messages among `msgs`. */
function windowStarts(msgs: ReadonlyArray<Record<string, unknown>>): number[] {
  return msgs.filter((m) => m.type === 'window' && m.camera === 'k').map((m) => ((m.windowStart as number) - T0) / FRAME_MS);
}

const expectedStarts = (frames: number): number[] => Array.from({ length: Math.floor((frames - 8) / 4) + 1 }, (_, k) => 4 * k);

async function consume(topic: string, into: Array<Record<string, unknown>>): Promise<Consumer> {
  const c = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}` });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void into.push(JSON.parse(message.value!.toString()) as Record<string, unknown>) });
  return c;
}

async function framesIn(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^actionclip_frames_in_total\{camera="k",source="kafka"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('actionclip-stream run: stopping and crashing (real Kafka)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'actionclip-reliability-'));
    [broker] = await Promise.all([startKafka(), writeSafetensors(path.join(dir, 'tiny.safetensors'), syntheticClipWeights(TINY))]);
    kafka = new Kafka({ clientId: 'reliability-test', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: ['stop.frames', 'stop.detections', 'crash.frames', 'crash.detections'].map((topic) => ({ topic, numPartitions: 1 })) });
    await admin.disconnect();
  }, 300_000);

  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('SIGTERM with windows in flight: every window of frames captured before it reaches Kafka, WebSocket and JSONL; exit 0', async () => {
    const jsonl = path.join(dir, 'stop.jsonl');
    // Frames wait up to 3 s for a batch, so at the signal they are still in the pipeline.
    const run = startRun(writeConfig('stop', { framesTopic: 'stop.frames', detectionsTopic: 'stop.detections', groupId: 'stop-workers', jsonl, maxWaitMs: 3000 }));
    const fromKafka: Array<Record<string, unknown>> = [];
    const fromWs: Array<Record<string, unknown>> = [];
    let consumer: Consumer | undefined;
    try {
      await run.waitFor('kafka-frames: connected to Kafka');
      const url = run.url();
      const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
      ws.on('message', (d) => fromWs.push(JSON.parse(d.toString()) as Record<string, unknown>));
      const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
      await new Promise((r, j) => ws.once('open', r).once('error', j));
      ws.send(JSON.stringify({ type: 'subscribe', kinds: ['window'] }));
      consumer = await consume('stop.detections', fromKafka);
      await new Promise((r) => setTimeout(r, 1000)); // the consumer's first fetch sets its position
      await produceFrames('stop.frames', 0, 40);
      while ((await framesIn(url)) < 40) await new Promise((r) => setTimeout(r, 50));
      const beforeSignal = windowStarts(fromWs).length;
      run.child.kill('SIGTERM');
      const [ready, addCamera] = await Promise.all([
        fetch(`${url}/ready`).then((r) => r.status, () => 'closed'),
        fetch(`${url}/cameras`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'late', url: 'rtsp://127.0.0.1:1/x' }) }).then((r) => r.status, () => 'closed'),
      ]);
      const code = await run.exited;
      const close = await closed;

      const want = expectedStarts(40);
      console.log(`[stop] windows before the signal: ${beforeSignal}/${want.length}; ready after it: ${ready}, POST /cameras: ${addCamera}; ws close ${close.code} "${close.reason}"`);
      expect(code, run.log().slice(-3000)).toBe(0);
      expect(beforeSignal).toBeLessThan(want.length); // windows were in flight
      // Answered 503 while it drains (or, on a fast machine, already closed).
      expect([503, 'closed']).toContain(ready);
      expect([503, 'closed']).toContain(addCamera);
      expect(close).toEqual({ code: 1001, reason: 'server shutting down' });
      expect(windowStarts(fromWs)).toEqual(want);
      const lines = readFileSync(jsonl, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(windowStarts(lines)).toEqual(want);
      await until('windows on the detections topic', () => windowStarts(fromKafka).length >= want.length, 30_000);
      expect(windowStarts(fromKafka)).toEqual(want);
      expect(run.log()).toContain('shutdown: windows in flight finished');
    } finally {
      run.child.kill('SIGKILL');
      await consumer?.disconnect();
    }
  }, 240_000);

  it('kill -9 mid-stream, then a restart: the Kafka input resumes from its commits and no frame loses its window (duplicates allowed)', async () => {
    const config = writeConfig('crash', { framesTopic: 'crash.frames', detectionsTopic: 'crash.detections', groupId: 'crash-workers', maxWaitMs: 20 });
    const fromKafka: Array<Record<string, unknown>> = [];
    const consumer = await consume('crash.detections', fromKafka);
    const first = startRun(config);
    let second: Run | undefined;
    try {
      await first.waitFor('kafka-frames: connected to Kafka');
      await new Promise((r) => setTimeout(r, 1000));
      // Frames keep coming while the worker dies: some consumed and committed, some consumed and not, some not read.
      let sent = 0;
      const feed = (async () => {
        for (; sent < 100; sent += 10) {
          await produceFrames('crash.frames', sent, sent + 10);
          await new Promise((r) => setTimeout(r, 500));
        }
      })();
      // Offsets are committed every second: some have been by the 8th window.
      await until('a few windows from the first worker', () => windowStarts(fromKafka).length >= 8);
      first.child.kill('SIGKILL');
      await first.exited;
      const beforeCrash = new Set(windowStarts(fromKafka));
      second = startRun(config);
      await feed;
      const want = expectedStarts(100);
      const missing = (): string => `every window after the restart: got ${windowStarts(fromKafka).join(',')}\n${second!.log().slice(-4000)}`;
      await until(missing, () => want.every((s) => windowStarts(fromKafka).includes(s)), 120_000, () => second!.child.exitCode !== null);
      const got = windowStarts(fromKafka);
      const duplicates = got.length - new Set(got).size;
      console.log(`[crash] windows before kill -9: ${beforeCrash.size}; after the restart: ${got.length} (${duplicates} duplicates, at-least-once)`);
      expect(beforeCrash.size).toBeLessThan(want.length);
      expect([...new Set(got)].sort((a, b) => a - b)).toEqual(want);
    } finally {
      first.child.kill('SIGKILL');
      second?.child.kill('SIGTERM');
      await second?.exited;
      await consumer.disconnect();
    }
  }, 240_000);
});

describe('actionclip-stream run without a broker: a fatal fault, a second signal, the shutdown timeout', () => {
  let own: string;
  beforeAll(async () => {
    own = mkdtempSync(path.join(tmpdir(), 'actionclip-run-'));
    await writeSafetensors(path.join(own, 'tiny.safetensors'), syntheticClipWeights(TINY));
  });
  afterAll(() => rmSync(own, { recursive: true, force: true }));

  /** A run of the tiny model with these config keys on top. */
  function runWith(name: string, extra: Record<string, unknown>): Run {
    const config = path.join(own, `${name}.yaml`);
    writeFileSync(config, JSON.stringify({ weights: path.join(own, 'tiny.safetensors'), engine: 'onnx', labels: ['a', 'b'], port: 0, host: '127.0.0.1', textCache: { enabled: false }, logLevel: 'info', ...extra }));
    return startRun(config);
  }

  it('exits non-zero once, with one clear fatal line, instead of restarting in a loop', async () => {
    // Weights cut short, as an interrupted copy leaves them: no restart can mend that.
    const weights = path.join(own, 'cut.safetensors');
    writeFileSync(weights, readFileSync(path.join(own, 'tiny.safetensors')).subarray(0, 5000));
    const run = runWith('fatal', { weights });
    const code = await run.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const log = run.log();
    // Said once, naming the file and the fault: the model load is not retried.
    expect(log.match(/truncated safetensors file/g)).toHaveLength(1);
    expect(log).toMatch(/truncated safetensors file: .*cut\.safetensors/);
    expect(log).not.toContain('restarting');
  }, 120_000);

  it('a second signal while stopping exits at once (130)', async () => {
    const run = runWith('second', {});
    await run.waitFor('"msg":"running:');
    // Two different signals: two of the same kind may merge into one before delivery.
    run.child.kill('SIGTERM');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.log()).toContain('shutting down: finishing the windows in flight');
  }, 120_000);

  it('past shutdown.timeoutSec it exits 1 and says so (the Kafka producer cannot flush: no broker)', async () => {
    const clip = path.join(own, 'clip.mp4');
    execFileSync(resolveFfmpeg().path, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=20:size=64x48:rate=8', '-pix_fmt', 'yuv420p', clip]);
    const noBroker = `127.0.0.1:${await freePort()}`;
    const run = runWith('timeout', { cameras: [{ id: 'clip', url: clip }], decode: { width: SIZE, height: SIZE }, kafka: { brokers: [noBroker], detectionsTopic: 'nowhere' }, shutdown: { timeoutSec: 2 } });
    await run.waitFor('"msg":"running:');
    const buffered = async (): Promise<number> => Number(/^actionclip_sink_buffered\{sink="kafka"\} (\d+)/m.exec(await (await fetch(`${run.url()}/metrics`)).text())?.[1] ?? 0);
    while ((await buffered()) === 0) await new Promise((r) => setTimeout(r, 100));
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(1);
    expect(run.log()).toContain('shutdown took longer than shutdown.timeoutSec; exiting now');
  }, 120_000);
});
