/**
 * Model throughput benchmark: image encoder frames/s (ViT-B/32 and ViT-B/16 at 224, 1/8/32 frames
 * per call), text encoder prompts/s, temporal heads windows/s, achieved GFLOP/s beside a MatMul
 * peak probe measured in the same run, and peak RSS, for every engine available here.
 * Weights are random with the real shapes, generated on the fly.
 *
 *   npm run bench:model -- [--json] [--engines onnx-cpu,tfjs-wasm,webgpu] [--models B/32,B/16] [--batches 1,8,32] [--seconds 4]
 *                          [--no-peak] [--out DIR]
 * `webgpu` runs on a hardware adapter, or on a software one (lavapipe) with ACTIONCLIP_WEBGPU_ALLOW_SOFTWARE=1.
 * `--no-peak` skips the ONNX Runtime MatMul probe (bench/gpu-check.sh: its bundle has no onnxruntime).
 */
import { spawnSync } from 'node:child_process';
import { CLIP_SPECS, syntheticClipWeights, syntheticFusionWeights, uniformNoise, type ClipSpec } from '../src/model/weights/synthetic-weights.js';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine, EngineOptions, EngineWeights } from '../src/engine/engine.js';
import { type ClipConfig, clipConfigFromWeights } from '../src/model/clip-config.js';
import { HEAD_NAMES, type HeadName } from '../src/model/heads.js';
import type { TensorMap } from '../src/model/weights/tensor-map.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');

// ---------------------------------------------------------------- engines (append to extend)

interface BenchEngineOptions extends EngineOptions {
  tmpDir: string;
  /** Only `fuse` will be called (engines that can skip building the encoders may). */
  fusionOnly?: boolean;
}

interface BenchEngine {
  name: string;
  /** null when it can run here, else why not. */
  unavailable(): Promise<string | null>;
  create(weights: EngineWeights, opts: BenchEngineOptions): Promise<Engine>;
}

const onnx = (name: string, extra: Record<string, unknown>): BenchEngine => ({
  name,
  unavailable: async () => null,
  async create(weights, opts) {
    const { createOnnxEngine } = await import('../src/engine/onnx/index.js');
    return createOnnxEngine(weights, {
      ...opts,
      cacheDir: opts.tmpDir,
      parts: opts.fusionOnly ? { image: false, text: false, fusion: true } : undefined,
      logger: { info: () => {}, warn: (m) => console.error(`[onnx] ${m}`) },
      ...extra,
    });
  },
});

const tfjs = (backend: string): BenchEngine => ({
  name: `tfjs-${backend}`,
  async unavailable() {
    if (!existsSync(path.join(ROOT, 'src/engine/tfjs/tfjs-engine.ts'))) return 'src/engine/tfjs is absent';
    if (backend === 'tensorflow') {
      try {
        await import('@tensorflow/tfjs-node' as string);
      } catch (err) {
        return `@tensorflow/tfjs-node does not load: ${String(err).split('\n')[0]}`;
      }
    }
    return null;
  },
  async create(weights, opts) {
    const mod = (await import('../src/engine/tfjs/tfjs-engine.js')) as { createTfjsEngine(w: EngineWeights, o: EngineOptions & { backend?: string; log?: unknown }): Promise<Engine> };
    return mod.createTfjsEngine(weights, { head: opts.head, frames: opts.frames, backend, log: () => {} });
  },
});

/** The webgpu engine (tfjs network on Dawn); fp16 is listed so that its absence is a row, not a silence. */
const webgpu = (precision: 'float32' | 'float16'): BenchEngine => ({
  name: precision === 'float32' ? 'webgpu' : 'webgpu-fp16',
  async unavailable() {
    if (precision === 'float16') return "not implemented: tfjs's WebGPU backend computes in float32 (docs/webgpu-engine.md)";
    try {
      const { requestAdapter, allowSoftwareFromEnv } = await import('../src/engine/webgpu/dawn.js');
      await requestAdapter(allowSoftwareFromEnv());
      return null;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  },
  async create(weights, opts) {
    const { createWebGpuEngine } = await import('../src/engine/webgpu/webgpu-engine.js');
    return createWebGpuEngine(weights, { head: opts.head, frames: opts.frames, precision });
  },
});

export const BENCH_ENGINES: BenchEngine[] = [
  onnx('onnx-cpu', { provider: 'cpu' }),
  onnx('onnx-cpu-standard-ops', { provider: 'cpu', impl: 'onnx' }),
  onnx('onnx-cpu-spin', { provider: 'cpu', allowSpinning: true }),
  onnx('onnx-cpu-int8', { provider: 'cpu', quantize: 'int8' }),
  tfjs('tensorflow'),
  tfjs('wasm'),
  webgpu('float32'),
  webgpu('float16'),
];

// ---------------------------------------------------------------- random weights of the real shapes

type ModelSpec = ClipSpec;

const MODELS: ModelSpec[] = [CLIP_SPECS['ViT-B/32'], CLIP_SPECS['ViT-B/16']];
/** The reference fixture's sizes: only when named (`--models tiny`), for plumbing runs on slow devices (lavapipe). */
const TINY: ModelSpec = { name: 'tiny', patch: 8, resolution: 32, visionWidth: 128, visionLayers: 2, embedDim: 64, textWidth: 128, textLayers: 2 };

const randomFill = uniformNoise;
const randomClip = (m: ModelSpec): TensorMap => syntheticClipWeights(m);
const randomFusion = (head: HeadName, d: number, frames: number): TensorMap | null => syntheticFusionWeights(head, d, frames);

// ---------------------------------------------------------------- FLOPs from the shapes

/** Multiply-adds × 2 of one CLIP transformer block over L tokens of width d. */
function blockFlops(l: number, d: number): number {
  return 2 * (l * d * 3 * d + 2 * l * l * d + l * d * d + 2 * l * d * 4 * d);
}

/** The last block's out-projection and MLP on one row instead of L (the ONNX graphs keep only CLS / EOT there). */
function lastBlockSaving(l: number, d: number): number {
  return 2 * (l - 1) * (d * d + 2 * d * 4 * d);
}

/** FLOPs per frame: nominal (every token through every block), or as the ONNX graph executes them. */
export function imageFlopsPerFrame(c: ClipConfig, executed = false): number {
  const g = c.imageResolution / c.patchSize;
  const l = g * g + 1;
  const nominal = 2 * g * g * 3 * c.patchSize ** 2 * c.visionWidth + c.visionLayers * blockFlops(l, c.visionWidth) + 2 * c.visionWidth * c.embedDim;
  return executed ? nominal - lastBlockSaving(l, c.visionWidth) : nominal;
}

export function textFlopsPerPrompt(c: ClipConfig, tokens: number, executed = false): number {
  const nominal = c.textLayers * blockFlops(tokens, c.textWidth) + 2 * c.textWidth * c.embedDim;
  return executed ? nominal - lastBlockSaving(tokens, c.textWidth) : nominal;
}

// ---------------------------------------------------------------- timing

interface Timing {
  calls: number;
  seconds: number;
  perCall: number;
  /** Process CPU seconds per call (user + system): with other work on the machine, wall time alone misleads. */
  cpuPerCall: number;
}

async function timeIt(fn: () => Promise<unknown>, minSeconds: number, minCalls = 2, warmup = 1): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  let calls = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let elapsed = 0;
  while (calls < minCalls || elapsed < minSeconds) {
    await fn();
    calls++;
    elapsed = (performance.now() - t0) / 1000;
  }
  const cpu = process.cpuUsage(c0);
  return { calls, seconds: elapsed, perCall: elapsed / calls, cpuPerCall: (cpu.user + cpu.system) / 1e6 / calls };
}

/** GFLOP/s of one big MatMul through ONNX Runtime (constant B, like the model's weights), best of the shapes tried. */
async function matmulPeak(threads: number, seconds: number): Promise<{ shape: string; gflops: number; gflopsPerCpuSecond: number }[]> {
  const ort = await import('onnxruntime-node');
  const { GraphBuilder } = await import('../src/engine/onnx/graph.js');
  const out: { shape: string; gflops: number; gflopsPerCpuSecond: number }[] = [];
  for (const [m, k, n] of [
    [1600, 768, 3072],
    [2048, 2048, 2048],
  ]) {
    const g = new GraphBuilder('matmul');
    const a = g.input('a', [m, k]);
    g.output(g.op('MatMul', [a, g.weight('b', randomFill(k * n, 0.02, { s: 7 }), [k, n])]), 'c', [m, n]);
    const session = await ort.InferenceSession.create(g.build(), { intraOpNumThreads: threads, graphOptimizationLevel: 'all', executionMode: 'sequential' });
    const feed = { a: new ort.Tensor('float32', randomFill(m * k, 1, { s: 3 }), [m, k]) };
    const t = await timeIt(() => session.run(feed), seconds, 3);
    out.push({ shape: `${m}x${k} @ ${k}x${n}`, gflops: (2 * m * k * n) / t.perCall / 1e9, gflopsPerCpuSecond: (2 * m * k * n) / t.cpuPerCall / 1e9 });
    await session.release();
  }
  return out;
}

// ---------------------------------------------------------------- main

interface Args {
  json: boolean;
  engines: string[] | null;
  models: string[] | null;
  batches: number[];
  seconds: number;
  /** Skip calls projected to take longer than this (slow engines at big batches). */
  maxCallSeconds: number;
  heads: boolean;
  text: boolean;
  /** Probe the ONNX Runtime MatMul peak (needs onnxruntime-node). */
  peak: boolean;
  /** Where the JSON goes (default bench/results). */
  out: string | null;
  /** Internal: run this one engine and print its rows as JSON. */
  child: string | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { json: false, engines: null, models: null, batches: [1, 8, 32], seconds: 4, maxCallSeconds: 40, heads: true, text: true, peak: true, out: null, child: null };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    const next = (): string => argv[++i] ?? '';
    if (v === '--json') a.json = true;
    else if (v === '--engines') a.engines = next().split(',');
    else if (v === '--models') a.models = next().split(',').map((s) => (s.startsWith('ViT-') || s === TINY.name ? s : `ViT-${s}`));
    else if (v === '--batches') a.batches = next().split(',').map(Number);
    else if (v === '--seconds') a.seconds = Number(next());
    else if (v === '--max-call-seconds') a.maxCallSeconds = Number(next());
    else if (v === '--no-heads') a.heads = false;
    else if (v === '--no-text') a.text = false;
    else if (v === '--no-peak') a.peak = false;
    else if (v === '--out') a.out = next();
    else if (v === '--child') a.child = next();
    else throw new Error(`unknown argument ${v}`);
  }
  return a;
}

interface Row {
  engine: string;
  model: string;
  what: 'image' | 'text' | 'fusion';
  detail: string;
  batch: number;
  perSecond: number | null;
  unit: string;
  msPerCall: number | null;
  gflops: number | null;
  /** GFLOP per process CPU-second: the efficiency of the cores actually obtained. */
  gflopsPerCpuSecond: number | null;
  /** 1-minute load average when the row was measured (the machine may be shared). */
  load: number;
  note?: string;
}

interface EngineRecord {
  name: string;
  status: string;
  createSeconds: Record<string, number>;
  rssAfterCreateMiB: Record<string, number>;
  /** This engine's process peak RSS (each engine runs in its own process). */
  peakRssMiB?: number;
  /** What computed, as the engine reports it (info.backend: provider, tfjs backend or WebGPU adapter). */
  device?: string;
}

const log = (m: string): void => {
  process.stderr.write(`${m}\n`);
};

/** One engine, every model: runs in a child process so a crash or a leak stays there and RSS is per engine. */
async function runEngine(eng: BenchEngine, args: Args, tmpDir: string, emit: (row: Row) => void): Promise<{ rec: EngineRecord; rows: Row[] }> {
  const rows: Row[] = [];
  // Each row is also emitted as soon as it is measured, so an engine that crashes later keeps it.
  const push = rows.push.bind(rows);
  rows.push = (...items: Row[]): number => {
    items.forEach(emit);
    return push(...items);
  };
  const rec: EngineRecord = { name: eng.name, status: 'ran', createSeconds: {}, rssAfterCreateMiB: {} };
  const why = await eng.unavailable();
  if (why !== null) {
    rec.status = `unavailable: ${why}`;
    log(`${eng.name}: unavailable (${why})`);
    return { rec, rows };
  }
  const models = [...MODELS, TINY].filter((m) => (args.models === null ? m !== TINY : args.models.includes(m.name)));
  for (const spec of models) {
    const clip = randomClip(spec);
    const cfg = clipConfigFromWeights(clip);
    const weights: EngineWeights = { clip, fusion: null, head: 'meanP', frames: 8, sources: { clip: `<random ${spec.name}>` } };
    log(`${eng.name} ${spec.name}: creating engine...`);
    const t0 = performance.now();
    let engine: Engine;
    try {
      engine = await eng.create(weights, { head: 'meanP', frames: 8, tmpDir });
    } catch (err) {
      rec.status = `failed: ${err instanceof Error ? err.message : String(err)}`;
      log(`${eng.name}: ${rec.status}`);
      break;
    }
    rec.createSeconds[spec.name] = (performance.now() - t0) / 1000;
    rec.device = engine.info.backend;
    rec.rssAfterCreateMiB[spec.name] = Math.round(process.memoryUsage().rss / 2 ** 20);
    // GFLOP/s counts the work the engine really does (the ONNX graphs skip most of the last block's MLP).
    const flops = imageFlopsPerFrame(cfg, eng.name.startsWith('onnx'));
    const px = cfg.imageResolution;
    let oneFrameSeconds = 0;
    for (const n of args.batches) {
      const pixels = randomFill(n * 3 * px * px, 1.5, { s: 11 + n });
      const projected = oneFrameSeconds * n;
      if (projected > args.maxCallSeconds) {
        rows.push({ engine: eng.name, model: spec.name, what: 'image', detail: 'encodeFrames', batch: n, perSecond: null, unit: 'frames/s', msPerCall: null, gflops: null, gflopsPerCpuSecond: null, load: os.loadavg()[0], note: `skipped: projected ${projected.toFixed(0)} s per call` });
        continue;
      }
      const t = await timeIt(() => engine.encodeFrames(pixels, n), args.seconds, 2, 1);
      if (n === 1 || oneFrameSeconds === 0) oneFrameSeconds = t.perCall / n;
      const fps = n / t.perCall;
      const row: Row = { engine: eng.name, model: spec.name, what: 'image', detail: 'encodeFrames', batch: n, perSecond: fps, unit: 'frames/s', msPerCall: t.perCall * 1000, gflops: (fps * flops) / 1e9, gflopsPerCpuSecond: (n * flops) / t.cpuPerCall / 1e9, load: os.loadavg()[0] };
      rows.push(row);
      log(`  image ${spec.name} n=${n}: ${fps.toFixed(2)} frames/s, ${row.gflops!.toFixed(1)} GFLOP/s, ${row.gflopsPerCpuSecond!.toFixed(1)} GFLOP/cpu-s, load ${row.load.toFixed(1)}`);
    }
    if (args.text && spec === models[0]) {
      // Prompts like "a video of {label}": SOT, 6 to 17 word pieces, EOT, zero padding.
      const n = 64;
      const tokens = new Int32Array(n * 77);
      let maxLen = 0;
      for (let i = 0; i < n; i++) {
        const len = 8 + (i % 12);
        maxLen = Math.max(maxLen, len);
        tokens[i * 77] = 49406;
        for (let j = 1; j < len - 1; j++) tokens[i * 77 + j] = 300 + ((i * 131 + j * 17) % 40000);
        tokens[i * 77 + len - 1] = 49407;
      }
      const t = await timeIt(() => engine.encodeText(tokens, n), args.seconds, 2, 1);
      const pps = n / t.perCall;
      // The ONNX graph runs only up to the longest prompt (causal mask); others may run all 77 positions.
      const fl = eng.name.startsWith('onnx') ? textFlopsPerPrompt(cfg, maxLen, true) : textFlopsPerPrompt(cfg, 77);
      rows.push({ engine: eng.name, model: spec.name, what: 'text', detail: `encodeText (${maxLen} tokens max)`, batch: n, perSecond: pps, unit: 'prompts/s', msPerCall: t.perCall * 1000, gflops: (pps * fl) / 1e9, gflopsPerCpuSecond: (n * fl) / t.cpuPerCall / 1e9, load: os.loadavg()[0] });
      log(`  text n=${n}: ${pps.toFixed(1)} prompts/s`);
    }
    engine.dispose();
    if (args.heads && spec === models[0]) {
      const b = 32;
      const frames = 8;
      const emb = randomFill(b * frames * cfg.embedDim, 0.5, { s: 5 });
      for (const head of HEAD_NAMES) {
        const fw: EngineWeights = { clip, fusion: randomFusion(head, cfg.embedDim, frames), head, frames, sources: { clip: '<random>' } };
        const e = await eng.create(fw, { head, frames, tmpDir, fusionOnly: true });
        const t = await timeIt(() => e.fuse(emb, b), Math.min(args.seconds, 2), 3, 1);
        rows.push({ engine: eng.name, model: spec.name, what: 'fusion', detail: head, batch: b, perSecond: b / t.perCall, unit: 'windows/s', msPerCall: t.perCall * 1000, gflops: null, gflopsPerCpuSecond: null, load: os.loadavg()[0] });
        log(`  fuse ${head} b=${b}: ${(b / t.perCall).toFixed(0)} windows/s`);
        e.dispose();
      }
    }
  }
  rec.peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  return { rec, rows };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const threads = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'actionclip-bench-'));
  try {
    if (args.child !== null) {
      const eng = BENCH_ENGINES.find((e) => e.name === args.child);
      if (eng === undefined) throw new Error(`unknown engine ${args.child}`);
      const done = await runEngine(eng, args, tmpDir, (row) => process.stdout.write(`ROW ${JSON.stringify(row)}\n`));
      process.stdout.write(`DONE ${JSON.stringify(done.rec)}\n`);
      return;
    }
    if (args.peak) log(`matmul peak probe (${threads} threads)...`);
    const peak = args.peak ? await matmulPeak(threads, Math.min(args.seconds, 3)) : [];
    for (const p of peak) log(`  ${p.shape}: ${p.gflops.toFixed(1)} GFLOP/s, ${p.gflopsPerCpuSecond.toFixed(1)} GFLOP/cpu-s, load ${os.loadavg()[0].toFixed(1)}`);

    const rows: Row[] = [];
    const engines: EngineRecord[] = [];
    const forwarded = process.argv.slice(2).filter((a, i, all) => a !== '--json' && a !== '--engines' && all[i - 1] !== '--engines' && a !== '--out' && all[i - 1] !== '--out');
    for (const eng of BENCH_ENGINES.filter((e) => args.engines === null || args.engines.includes(e.name))) {
      const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', eng.name, ...forwarded], {
        stdio: ['ignore', 'pipe', 'inherit'],
        encoding: 'utf8',
        maxBuffer: 64 * 2 ** 20,
      });
      let rec: EngineRecord | null = null;
      for (const line of (child.stdout ?? '').split('\n')) {
        if (line.startsWith('ROW ')) rows.push(JSON.parse(line.slice(4)) as Row);
        else if (line.startsWith('DONE ')) rec = JSON.parse(line.slice(5)) as EngineRecord;
      }
      if (rec === null) {
        rec = { name: eng.name, status: `crashed (exit ${child.status ?? child.signal}); rows measured before the crash are kept`, createSeconds: {}, rssAfterCreateMiB: {} };
        log(`${eng.name}: ${rec.status}`);
      }
      engines.push(rec);
    }

    // Probe again at the end: on a shared machine one probe may land in a busy moment; the best is the peak.
    if (args.peak) log('matmul peak probe, again...');
    for (const p of args.peak ? await matmulPeak(threads, Math.min(args.seconds, 3)) : []) {
      log(`  ${p.shape}: ${p.gflops.toFixed(1)} GFLOP/s, ${p.gflopsPerCpuSecond.toFixed(1)} GFLOP/cpu-s, load ${os.loadavg()[0].toFixed(1)}`);
      peak.push(p);
    }
    const peakGflops = peak.length > 0 ? Math.max(...peak.map((p) => p.gflops)) : null;
    const peakRssMiB = Math.max(Math.round(process.resourceUsage().maxRSS / 1024), ...engines.map((e) => e.peakRssMiB ?? 0));
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus()[0]?.model ?? 'unknown', cores: threads, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}/${process.arch}`, loadAverage: os.loadavg() },
      flopsPerFrame: Object.fromEntries(
        MODELS.map((m) => {
          const c = clipConfigFromWeights(randomClipHeader(m));
          return [m.name, { nominal: imageFlopsPerFrame(c), onnxExecuted: imageFlopsPerFrame(c, true) }];
        }),
      ),
      matmulPeak: { probes: peak, gflops: peakGflops },
      engines,
      rows: rows.map((r) => ({ ...r, peakFraction: r.gflops === null || peakGflops === null ? null : r.gflops / peakGflops })),
      peakRssMiB,
    };
    const dir = args.out ?? path.join(HERE, 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `model-${result.date.slice(0, 10)}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(`${markdown(rows, peakGflops, engines)}\n`);
    log(`results: ${path.relative(process.cwd(), file)}`);
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

/** Shapes only, for the FLOP table (no 150M random values). */
function randomClipHeader(m: ModelSpec): TensorMap {
  return syntheticClipWeights(m, 1, true);
}

function markdown(rows: Row[], peak: number | null, engines: EngineRecord[]): string {
  const lines = [
    peak === null ? 'MatMul peak: not probed (--no-peak)' : `MatMul peak (ONNX Runtime, best probe of this run): ${peak.toFixed(1)} GFLOP/s`,
    '',
    ...engines.map((e) => `- ${e.name}${e.device === undefined ? '' : ` on ${e.device}`}: ${e.status}${e.peakRssMiB === undefined ? '' : `, peak RSS ${e.peakRssMiB} MiB`}${Object.keys(e.createSeconds).length ? `, engine created in ${Object.entries(e.createSeconds).map(([m, t]) => `${t.toFixed(1)} s (${m})`).join(', ')}` : ''}`),
    '',
    '| engine | model | what | batch | throughput | ms/call | GFLOP/s | % of peak | GFLOP/CPU-s | load |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const f = (v: number | null, digits: number): string => (v === null ? '-' : v.toFixed(digits));
  for (const r of rows) {
    const thr = r.perSecond === null ? (r.note ?? '-') : `${r.perSecond.toFixed(r.perSecond < 100 ? 2 : 0)} ${r.unit}`;
    const pct = r.gflops === null || peak === null ? '-' : `${((100 * r.gflops) / peak).toFixed(0)}%`;
    lines.push(`| ${r.engine} | ${r.model} | ${r.detail} | ${r.batch} | ${thr} | ${f(r.msPerCall, 1)} | ${f(r.gflops, 1)} | ${pct} | ${f(r.gflopsPerCpuSecond, 1)} | ${r.load.toFixed(1)} |`);
  }
  return lines.join('\n');
}

await main();
