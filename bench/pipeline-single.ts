/**
 * `npm run bench:pipeline`: N synthetic cameras at F fps through the live stages (frame batcher,
 * sliding windows, window fuser, scorer), once with the per-camera embedding cache and once without
 * (every window encodes its W frames again). Reports encoded frames/s, windows/s, p50/p99
 * frame-to-detection latency, drops and memory, and the measured encoder-work factor.
 * A benchmark, not a test: numbers depend on the machine and its load.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { lastValueFrom, map, merge, take, tap, timer, type Observable } from 'rxjs';
import type { Engine } from '../src/engine/engine.js';
import { embedFrames } from '../src/stages/embed-frames.js';
import { scoreWindows } from '../src/stages/score-windows.js';
import { VocabularyStore } from '../src/control/vocabulary-store.js';
import { fuseWindows } from '../src/stages/fuse-windows.js';
import { createOnnxEngine } from '../src/engine/onnx/index.js';
import { createTfjsEngine } from '../src/engine/tfjs/tfjs-engine.js';
import { ActionClipModel } from '../src/engine/action-clip-model.js';
import { loadModel } from '../src/engine/load-model.js';
import { CLIP_SPECS, syntheticClipWeights } from '../src/model/weights/synthetic-weights.js';
import type { Frame, Window } from '../src/types.js';
import { slidingWindows } from '../src/stages/sliding-windows.js';
import { windowsWithoutCache } from './windows-without-cache.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values: args } = parseArgs({
  options: {
    cameras: { type: 'string', default: '4' },
    fps: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '15' },
    window: { type: 'string', default: '8' },
    stride: { type: 'string', default: '2' },
    width: { type: 'string', default: '320' },
    height: { type: 'string', default: '240' },
    weights: { type: 'string', default: path.resolve(ROOT, '..', 'shared', 'fixtures', 'actionclip-reference') },
    engine: { type: 'string', default: 'auto' },
    backend: { type: 'string' },
    'max-batch': { type: 'string', default: '16' },
    // Random weights of a released CLIP's shapes instead of --weights (e.g. ViT-B/32): real compute cost.
    synthetic: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const cameras = Number(args.cameras);
const fps = Number(args.fps);
const seconds = Number(args.seconds);
const window = Number(args.window);
const stride = Number(args.stride);
const width = Number(args.width);
const height = Number(args.height);
const maxBatch = Number(args['max-batch']);

/** Counts the frames the image encoder sees: the work the cache saves. */
class CountingEngine implements Engine {
  encodedFrames = 0;
  encodeCalls = 0;
  constructor(private readonly inner: Engine) {}
  get info() {
    return this.inner.info;
  }
  async encodeFrames(pixels: Float32Array, n: number): Promise<Float32Array> {
    this.encodedFrames += n;
    this.encodeCalls++;
    return this.inner.encodeFrames(pixels, n);
  }
  fuse(x: Float32Array, b: number): Promise<Float32Array> {
    return this.inner.fuse(x, b);
  }
  encodeText(t: Int32Array, n: number): Promise<Float32Array> {
    return this.inner.encodeText(t, n);
  }
  dispose(): void {}
}

/** A moving gradient per camera, generated once per frame: cheap, and not constant. */
function syntheticCamera(id: number): Observable<Frame> {
  const camera = `cam-${id}`;
  return timer(0, 1000 / fps).pipe(
    take(Math.round(fps * seconds)),
    map((seq) => {
      const rgb = new Uint8Array(width * height * 3);
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const o = (y * width + x) * 3;
          rgb[o] = (x + seq * 4 + id * 40) & 255;
          rgb[o + 1] = (y * 2 + seq) & 255;
          rgb[o + 2] = ((x ^ y) + id * 17) & 255;
        }
      return { camera, seq, captureTs: Date.now(), width, height, rgb };
    }),
  );
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface RunResult {
  mode: 'cache' | 'no-cache';
  framesIn: number;
  framesDropped: number;
  encodedFrames: number;
  encodeCalls: number;
  windows: number;
  wallSeconds: number;
  encodedFramesPerSecond: number;
  windowsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  peakRssMiB: number;
  peakHeapMiB: number;
}

async function run(mode: 'cache' | 'no-cache', engine: CountingEngine, store: VocabularyStore): Promise<RunResult> {
  engine.encodedFrames = 0;
  engine.encodeCalls = 0;
  let framesIn = 0;
  let dropped = 0;
  const latencies: number[] = [];
  let peakRss = 0;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 100);
  const frames$ = merge(...Array.from({ length: cameras }, (_, i) => syntheticCamera(i))).pipe(tap(() => framesIn++));
  const windows$: Observable<Window> =
    mode === 'cache'
      ? frames$.pipe(embedFrames(engine, { maxBatch, maxWaitMs: 50, stats: { onDrop: (_c, n) => (dropped += n) } }), slidingWindows({ window, stride }))
      : frames$.pipe(windowsWithoutCache(engine, { window, stride }));
  const start = performance.now();
  let windows = 0;
  await lastValueFrom(
    windows$.pipe(
      fuseWindows(engine, { window, maxBatch }),
      scoreWindows(store.vocabulary$, { topk: 5 }),
      tap((r) => {
        windows++;
        // Frame-to-detection: from the capture of the window's last frame to its scored result.
        latencies.push(Date.now() - r.windowEnd);
      }),
    ),
    { defaultValue: undefined },
  );
  const wall = (performance.now() - start) / 1000;
  clearInterval(sampler);
  latencies.sort((a, b) => a - b);
  return {
    mode,
    framesIn,
    framesDropped: dropped,
    encodedFrames: engine.encodedFrames,
    encodeCalls: engine.encodeCalls,
    windows,
    wallSeconds: +wall.toFixed(2),
    encodedFramesPerSecond: +(engine.encodedFrames / wall).toFixed(2),
    windowsPerSecond: +(windows / wall).toFixed(2),
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN },
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    peakHeapMiB: Math.round(peakHeap / 2 ** 20),
  };
}

async function openModel(): Promise<ActionClipModel> {
  if (args.synthetic === undefined) return loadModel({ weights: args.weights, engine: args.engine as 'tfjs' | 'onnx' | 'webgpu' | 'auto', backend: args.backend, frames: window });
  const spec = CLIP_SPECS[args.synthetic as keyof typeof CLIP_SPECS];
  if (spec === undefined) throw new Error(`--synthetic: one of ${Object.keys(CLIP_SPECS).join(', ')}`);
  const weights = { clip: syntheticClipWeights(spec), fusion: null, head: null, frames: window, sources: { clip: `synthetic ${spec.name}` } };
  if (args.engine === 'tfjs') return new ActionClipModel(await createTfjsEngine(weights, { backend: args.backend, frames: window }));
  return new ActionClipModel(await createOnnxEngine(weights, { frames: window }));
}

const model = await openModel();
const engine = new CountingEngine(model.engine);
const store = await VocabularyStore.create(engine, { labels: ['walking', 'running', 'sitting down', 'waving', 'falling'] });
const cached = await run('cache', engine, store);
const uncached = await run('no-cache', engine, store);
store.dispose();
model.dispose();

// Encoder work per window: the cache should save about W/stride.
const perWindow = (r: RunResult) => r.encodedFrames / Math.max(1, r.windows);
const result = {
  benchmark: 'pipeline',
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
  model: { weights: args.synthetic ?? args.weights, engine: model.info.engine, backend: model.info.backend, head: model.info.head, imageSize: model.info.imageSize, embedDim: model.info.embedDim },
  setup: { cameras, fps, seconds, window, stride, width, height, maxBatch },
  runs: [cached, uncached],
  encoderWorkFactor: { measured: +(perWindow(uncached) / perWindow(cached)).toFixed(2), expected: window / stride },
};

await mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
const file = path.join(ROOT, 'bench', 'results', `pipeline-${result.date.slice(0, 10)}-${model.info.engine}${args.synthetic ? `-${args.synthetic.replace(/\W/g, '')}` : ''}.json`);
await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
if (args.json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  const rows = result.runs.map((r) => `| ${r.mode} | ${r.framesIn} | ${r.framesDropped} | ${r.encodedFrames} | ${r.encodedFramesPerSecond} | ${r.windows} | ${r.windowsPerSecond} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.peakRssMiB} |`);
  process.stdout.write(
    [
      `pipeline benchmark: ${cameras} cameras × ${fps} fps × ${seconds} s, window ${window}, stride ${stride}, ${model.info.engine}/${model.info.backend}`,
      '| mode | frames in | dropped | encoded | encoded/s | windows | windows/s | p50 ms | p99 ms | peak RSS MiB |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows,
      `encoder work per window without / with cache: ${result.encoderWorkFactor.measured}× (W/stride = ${result.encoderWorkFactor.expected})`,
      `written to ${path.relative(ROOT, file)}`,
      '',
    ].join('\n'),
  );
}
