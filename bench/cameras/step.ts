/**
 * One measured setting of the camera benchmark: N real RTSP cameras through `startLive` (the
 * service's own pipeline, ffmpeg decoders included) with a given engine and decode tuning; a
 * WebSocket subscriber takes every window, as a client of the service would.
 */
import WebSocket from 'ws';
import { loadConfig } from '../../config/load.js';
import type { DecodeSchema } from '../../config/schema.js';
import type { Engine } from '../../src/engine/engine.js';
import { startLive } from '../../pipelines/live.js';
import { resolveFfmpeg } from '../../src/sources/ffmpeg-path.js';
import type { ManagedProcess } from '../../harness/processes.js';
import type { RtspServer } from '../../harness/rtsp-server.js';
import { MainThreadProfiler, type MainThreadSplit } from './main-thread-profile.js';
import { cpuBetween, cpuSnapshot } from './proc-cpu.js';
import { startFeeder } from './streams.js';
import type { z } from 'zod';

export type DecodeSettings = z.input<typeof DecodeSchema>;

export interface StepInput {
  readonly cameras: number;
  readonly clip: string;
  readonly decode: DecodeSettings;
  readonly engine: Engine;
  readonly rtsp: RtspServer;
  readonly warmupSec: number;
  readonly measureSec: number;
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly logDir: string;
}

export interface StepResult {
  readonly cameras: number;
  /** CPU seconds per camera-second. */
  readonly cpuPerCamera: { readonly decode: number; readonly node: number; readonly inference: number; readonly feeders: number };
  /** Cores the service used (decode + Node + inference). */
  readonly serviceCores: number;
  readonly framesIn: number;
  readonly framesExpected: number;
  readonly framesDropped: number;
  readonly windows: number;
  readonly windowsExpected: number;
  readonly latencySec: { readonly p50: number; readonly p99: number };
  readonly rssMiB: number;
  /** Node's main thread outside inference: where its time went. */
  readonly hottest: MainThreadSplit['hottest'];
}

const FPS = 4;
const WINDOW = 8;
const STRIDE = 4;
const LABELS = ['walking', 'running', 'sitting down', 'standing up', 'waving', 'falling', 'jumping', 'clapping'];

const sum = async (metric: { get(): Promise<{ values: { value: number }[] }> | { values: { value: number }[] } }): Promise<number> =>
  (await metric.get()).values.reduce((a, v) => a + v.value, 0);
const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runStep(input: StepInput): Promise<StepResult> {
  const ids = Array.from({ length: input.cameras }, (_, i) => `cam${i}`);
  const feeders: ManagedProcess[] = await Promise.all(ids.map((id) => startFeeder(input.clip, input.rtsp.url(id), `${input.logDir}/feeder-${id}.log`)));
  const config = loadConfig({
    overrides: {
      weights: 'given-engine',
      cameras: ids.map((id) => ({ id, url: input.rtsp.url(id) })),
      labels: LABELS,
      window: WINDOW,
      stride: STRIDE,
      fps: FPS,
      decode: input.decode,
      batching: { maxBatch: input.maxBatch, maxWaitMs: input.maxWaitMs, queueCapacity: 32 },
      textCache: { enabled: false, maxMB: 1 },
      port: 0,
      host: '127.0.0.1',
      logLevel: 'warn',
    },
  });
  const live = await startLive({ config, engine: input.engine, ffmpegPath: resolveFfmpeg().path });
  const latencies: number[] = [];
  let measuring = false;
  const ws = new WebSocket(`ws://127.0.0.1:${live.port}/ws`);
  ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', kinds: ['window'] })));
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as { type?: string; windowEnd?: number };
    // Capture of the window's last frame to its arrival at a subscriber: the whole way.
    if (measuring && m.type === 'window' && typeof m.windowEnd === 'number') latencies.push((Date.now() - m.windowEnd) / 1000);
  });
  try {
    await sleep(input.warmupSec * 1000);
    const exclude = new Set(feeders.map((f) => f.pid));
    const [cpu0, in0, drop0] = [cpuSnapshot(exclude), await sum(live.metrics.framesIn), await sum(live.metrics.framesDropped)];
    const profiler = new MainThreadProfiler();
    await profiler.start();
    measuring = true;
    const t0 = Date.now();
    await sleep(input.measureSec * 1000);
    measuring = false;
    const seconds = (Date.now() - t0) / 1000;
    const cpu = cpuBetween(cpu0, cpuSnapshot(exclude));
    const main = await profiler.stop();
    // The main thread runs ONNX Runtime sessions too: its inference share moves to inference.
    const mainInference = cpu.nodeMain * main.inferenceShare;
    const camSec = input.cameras * seconds;
    const round = (x: number, d = 3): number => +x.toFixed(d);
    return {
      cameras: input.cameras,
      cpuPerCamera: { decode: round(cpu.decoders / camSec), node: round((cpu.nodeMain - mainInference) / camSec), inference: round((cpu.nodeOther + mainInference) / camSec), feeders: round(cpu.excluded / camSec) },
      serviceCores: round((cpu.decoders + cpu.nodeMain + cpu.nodeOther) / seconds, 2),
      framesIn: (await sum(live.metrics.framesIn)) - in0,
      framesExpected: Math.round(camSec * FPS),
      framesDropped: (await sum(live.metrics.framesDropped)) - drop0,
      windows: latencies.length,
      windowsExpected: Math.round((camSec * FPS) / STRIDE),
      latencySec: { p50: round(quantile(latencies, 0.5)), p99: round(quantile(latencies, 0.99)) },
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      hottest: main.hottest,
    };
  } finally {
    ws.terminate();
    await live.stop();
    await Promise.all(feeders.map((f) => f.stop(3_000)));
  }
}
