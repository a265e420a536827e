/**
 * `npm run bench:pipeline -- --fleet`: the same synthetic frames through Kafka twice, on a real
 * broker: once into one `run` process, once into two `infer` processes of a fleet
 * (docs/scale-out.md), one of which is killed (-9) part-way. Frames go straight onto the frames
 * topic, as ingest would put them, so the figures are Kafka's and inference's, not a camera's.
 * Reports frame-to-detection latency as a reader of the detections topic sees it (read
 * committed), and the rebalance time per camera: from its last window received before the kill to
 * its first after. A benchmark, not a test: figures depend on the machine and on what else runs.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners, type Consumer } from 'kafkajs';
import { FLEET_FRAME_HEADERS } from '../src/fleet/records.js';
import { writeSafetensors } from '../src/model/weights/safetensors.js';
import { syntheticClipWeights } from '../src/model/weights/synthetic-weights.js';
import { startKafka, type KafkaBroker } from '../harness/kafka-broker.js';
import { startRole, type RoleProcess } from '../harness/role-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TINY = { name: 'tiny-random', patch: 16, resolution: 32, visionWidth: 64, visionLayers: 1, embedDim: 32, textWidth: 64, textLayers: 1 };

const { values: args } = parseArgs({
  options: {
    fleet: { type: 'boolean', default: true },
    cameras: { type: 'string', default: '4' },
    fps: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '60' },
    'kill-after': { type: 'string', default: '25' },
    size: { type: 'string', default: '64' },
    weights: { type: 'string' },
    engine: { type: 'string', default: 'onnx' },
  },
});
const cameras = Array.from({ length: Number(args.cameras) }, (_, i) => `cam${i + 1}`);
const fps = Number(args.fps);
const seconds = Number(args.seconds);
const size = Number(args.size);

interface Seen {
  readonly camera: string;
  readonly windowEnd: number;
  readonly at: number;
}

/** Frames of every camera at `fps` for `seconds`, raw RGB with the fleet's headers. */
async function produceFrames(kafka: Kafka, topic: string, onTick?: (elapsedSec: number) => Promise<void>): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const session = `bench-${Date.now().toString(36)}`;
  const start = Date.now();
  try {
    for (let seq = 0; seq < seconds * fps; seq++) {
      const due = start + (seq * 1000) / fps;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      const ts = String(Date.now());
      const h = FLEET_FRAME_HEADERS;
      const messages = cameras.map((camera, i) => ({
        key: camera,
        value: Buffer.alloc(size * size * 3, (seq * 7 + i * 40) % 256),
        headers: { [h.width]: String(size), [h.height]: String(size), [h.format]: 'rgb', [h.ts]: ts, [h.seq]: String(seq), [h.session]: session, [h.state]: 'streaming' },
      }));
      await producer.send({ topic, messages });
      await onTick?.((Date.now() - start) / 1000);
    }
  } finally {
    await producer.disconnect();
  }
}

async function readDetections(kafka: Kafka, topic: string, into: Seen[]): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId: `bench-reader-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const m = JSON.parse(message.value!.toString()) as { type: string; camera: string; windowEnd: number };
      if (m.type === 'window') into.push({ camera: m.camera, windowEnd: m.windowEnd, at: Date.now() });
    },
  });
  return consumer;
}

function percentiles(xs: number[]): { p50: number; p99: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), n: s.length };
}

async function writeConfig(dir: string, broker: KafkaBroker, weights: string, name: string): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  const config = {
    weights,
    engine: args.engine,
    labels: ['walking', 'running', 'sitting down', 'waving', 'falling'],
    window: 8,
    stride: 4,
    fps,
    decode: { width: size, height: size },
    port: 0,
    host: '127.0.0.1',
    kafka: { brokers: [broker.brokers], clientId: `bench-${name}`, framesTopic: `${name}.frames`, detectionsTopic: `${name}.detections`, groupId: `${name}-workers`, sessionTimeoutMs: 6000 },
    fleet: { topics: { frames: `${name}.frames`, cameras: `${name}.cameras`, states: `${name}.states`, vocabulary: `${name}.vocabulary`, detections: `${name}.detections` }, partitions: { frames: 4, cameras: 4, states: 1, vocabulary: 1, detections: 2 } },
    batching: { maxBatch: 32, maxWaitMs: 50, queueCapacity: 256 },
    textCache: { enabled: false },
    logLevel: 'info',
  };
  await writeFile(file, JSON.stringify(config));
  return file;
}

/** One `run` process reading the frames topic and writing the detections topic. */
async function single(kafka: Kafka, config: string): Promise<Seen[]> {
  const seen: Seen[] = [];
  const run = startRole('run', ['run', '--config', config]);
  const reader = await readDetections(kafka, 'single.detections', seen);
  try {
    await run.waitFor('kafka-frames: connected to Kafka');
    await produceFrames(kafka, 'single.frames');
    await new Promise((r) => setTimeout(r, 5000));
    return seen;
  } finally {
    await reader.disconnect();
    await run.stop();
  }
}

/** Two `infer` processes; the one started second is killed after `kill-after` seconds. */
async function fleet(kafka: Kafka, config: string): Promise<{ seen: Seen[]; killedAt: number }> {
  const seen: Seen[] = [];
  const workers: RoleProcess[] = [startRole('infer-a', ['infer', '--config', config]), startRole('infer-b', ['infer', '--config', config])];
  let killedAt = 0;
  try {
    await Promise.all(workers.map((w) => w.waitFor('infer ready')));
    const reader = await readDetections(kafka, 'fleet.detections', seen);
    await produceFrames(kafka, 'fleet.frames', async (t) => {
      if (killedAt === 0 && t >= Number(args['kill-after'])) {
        killedAt = Date.now();
        await workers[1]!.kill9();
      }
    });
    await new Promise((r) => setTimeout(r, 5000));
    await reader.disconnect();
    return { seen, killedAt };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/** Per camera: from the last window received before the kill to the first one after it. */
function rebalance(seen: Seen[], killedAt: number): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const camera of cameras) {
    const mine = seen.filter((s) => s.camera === camera);
    const before = mine.filter((s) => s.at <= killedAt).at(-1);
    const after = mine.find((s) => s.at > killedAt);
    out[camera] = before === undefined || after === undefined ? null : +((after.at - before.at) / 1000).toFixed(2);
  }
  return out;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-fleet-'));
const broker = await startKafka();
try {
  const weights = args.weights ?? path.join(dir, 'tiny.safetensors');
  if (args.weights === undefined) await writeSafetensors(weights, syntheticClipWeights(TINY));
  const kafka = new Kafka({ clientId: 'bench-fleet', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: ['single.frames', 'single.detections'].map((topic) => ({ topic, numPartitions: 4 })) });
  await admin.disconnect();
  const one = await single(kafka, await writeConfig(dir, broker, weights, 'single'));
  const { seen, killedAt } = await fleet(kafka, await writeConfig(dir, broker, weights, 'fleet'));
  const latency = (xs: Seen[]) => percentiles(xs.map((s) => s.at - s.windowEnd));
  const result = {
    benchmark: 'pipeline-fleet',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() },
    setup: { cameras: cameras.length, fps, seconds, killAfterSec: Number(args['kill-after']), frame: `${size}x${size} rgb`, weights: args.weights ?? 'tiny random CLIP', engine: args.engine, window: 8, stride: 4 },
    singleProcess: { windows: one.length, latencyMs: latency(one) },
    fleet: { windows: seen.length, latencyMs: latency(seen), steadyLatencyMs: latency(seen.filter((s) => s.at < killedAt)), rebalanceSec: rebalance(seen, killedAt) },
  };
  await mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
  const file = path.join(ROOT, 'bench', 'results', `pipeline-fleet-${result.date.slice(0, 16).replace(':', '')}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\nwritten to ${path.relative(ROOT, file)}\n`);
} finally {
  await broker.stop();
  await rm(dir, { recursive: true, force: true });
}
