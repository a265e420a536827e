/**
 * `npm run bench:cameras`: how many real cameras one machine watches. H.264 RTSP cameras on the
 * project's mediamtx, fed from pre-encoded clips; for 1, 2, 4, 8 … cameras (until a step drops
 * frames, misses windows or breaks the p99 bound) it runs the live pipeline with ViT-B/32 on ONNX
 * (random weights of the real shapes: the cost is the model's, the scores mean nothing) and
 * reports CPU per camera-second split into ffmpeg decode, Node frame handling and inference,
 * drops, frame-to-detection latency and RSS. Writes JSON, a Markdown table and a PNG plot.
 * A benchmark, not a test: figures depend on the machine and on what else runs on it.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../config/defaults.js';
import { ActionClipModel } from '../src/engine/action-clip-model.js';
import { createOnnxEngine } from '../src/engine/onnx/index.js';
import { CLIP_SPECS, syntheticClipWeights } from '../src/model/weights/synthetic-weights.js';
import { startRtspServer } from '../harness/rtsp-server.js';
import { renderPlot, type Series } from './cameras/plot.js';
import { runStep, type DecodeSettings, type StepResult } from './cameras/step.js';
import { ensureClip, RESOLUTIONS, type Resolution } from './cameras/streams.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * `before`: the defaults until the scale was measured (320×240 stretched, bicubic, ffmpeg's thread
 * count, full decode). `after`: what the model needs and no more (256×256 centre crop, which Node's
 * resize leaves as it is; bilinear; one decoder thread; no deblocking).
 */
const TUNINGS: Record<string, DecodeSettings> = {
  before: { width: 320, height: 240, fit: 'stretch', scaler: 'bicubic', threads: 0, skipLoopFilter: 'none', skipFrame: 'none' },
  after: { width: 256, height: 256, fit: 'crop', scaler: 'bilinear', threads: 1, skipLoopFilter: 'all', skipFrame: 'none' },
};

const { values: args } = parseArgs({
  options: {
    resolutions: { type: 'string', default: '360p,720p,1080p' },
    quant: { type: 'string', default: 'fp32,int8' },
    tunings: { type: 'string', default: 'before,after' },
    cameras: { type: 'string', default: '1,2,4,8,16,32' },
    warmup: { type: 'string', default: '15' },
    seconds: { type: 'string', default: '30' },
    'p99-bound': { type: 'string', default: '1.5' },
    // max-batch, max-wait-ms and threads may each be a list: the run then sweeps them, to choose the live engine settings.
    // Their defaults are `run`'s, so a plain run measures what a user gets.
    'max-batch': { type: 'string', default: String(DEFAULTS.batching.maxBatch) },
    'max-wait-ms': { type: 'string', default: String(DEFAULTS.batching.maxWaitMs) },
    threads: { type: 'string', default: '0' },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'results') },
    // Result files are <out>/<name>-<date>.{json,md,png}.
    name: { type: 'string', default: 'cameras' },
  },
});

const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);
const bound = Number(args['p99-bound']);

/** A step holds when nothing was dropped, the windows came (90%: edges of the interval), and p99 is in bound. */
const holds = (r: StepResult): boolean => r.framesDropped === 0 && r.framesIn >= 0.9 * r.framesExpected && r.windows >= 0.9 * r.windowsExpected && r.latencySec.p99 <= bound;

/** Engine settings a run may sweep: micro-batch size and wait, ONNX Runtime intra-op threads (0: its default). */
interface EngineSettings {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly threads: number;
}

interface Row extends StepResult, EngineSettings {
  readonly resolution: Resolution;
  readonly quant: string;
  readonly tuning: string;
  readonly holds: boolean;
}

const numbers = (s: string): number[] => list(s).map(Number);
const settingsList: EngineSettings[] = numbers(args.threads).flatMap((threads) =>
  numbers(args['max-batch']).flatMap((maxBatch) => numbers(args['max-wait-ms']).map((maxWaitMs) => ({ maxBatch, maxWaitMs, threads }))),
);
const sweeping = settingsList.length > 1;
const settingsLabel = (s: EngineSettings): string => `batch ${s.maxBatch}, wait ${s.maxWaitMs} ms, threads ${s.threads === 0 ? 'default' : s.threads}`;

async function engineFor(quant: string, threads: number): Promise<ActionClipModel> {
  const spec = CLIP_SPECS['ViT-B/32'];
  const weights = { clip: syntheticClipWeights(spec), fusion: null, head: null, frames: 8, sources: { clip: `synthetic ${spec.name}` } };
  return new ActionClipModel(await createOnnxEngine(weights, { frames: 8, quantize: quant === 'int8' ? 'int8' : 'none', ...(threads > 0 ? { intraOpNumThreads: threads } : {}), logger: { info: () => {}, warn: (m) => console.error(`[onnx] ${m}`) } }));
}

async function main(): Promise<void> {
  const clipsDir = path.join(ROOT, '.cache', 'bench-cameras');
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'bench-cameras-'));
  const rtsp = await startRtspServer();
  const rows: Row[] = [];
  try {
    for (const quant of list(args.quant)) {
      for (const threads of [...new Set(settingsList.map((x) => x.threads))]) {
        const engine = await engineFor(quant, threads);
        try {
          for (const settings of settingsList.filter((x) => x.threads === threads)) await runResolutions({ quant, settings, engine, rtsp, clipsDir, logDir, rows });
        } finally {
          engine.dispose();
        }
      }
    }
  } finally {
    await rtsp.stop();
  }
  await report(rows);
}

interface RunContext {
  readonly quant: string;
  readonly settings: EngineSettings;
  readonly engine: ActionClipModel;
  readonly rtsp: Awaited<ReturnType<typeof startRtspServer>>;
  readonly clipsDir: string;
  readonly logDir: string;
  readonly rows: Row[];
}

/** Every resolution × tuning for one engine setting, each up the camera steps until one breaks. */
async function runResolutions({ quant, settings, engine, rtsp, clipsDir, logDir, rows }: RunContext): Promise<void> {
  for (const resolution of list(args.resolutions) as Resolution[]) {
    if (!(resolution in RESOLUTIONS)) throw new Error(`--resolutions: one of ${Object.keys(RESOLUTIONS).join(', ')}`);
    const clip = await ensureClip(clipsDir, resolution);
    for (const tuning of list(args.tunings)) {
      const decode = TUNINGS[tuning];
      if (decode === undefined) throw new Error(`--tunings: one of ${Object.keys(TUNINGS).join(', ')}`);
      for (const cameras of numbers(args.cameras)) {
        const r = await runStep({ cameras, clip, decode, engine, rtsp, warmupSec: Number(args.warmup), measureSec: Number(args.seconds), maxBatch: settings.maxBatch, maxWaitMs: settings.maxWaitMs, logDir });
        const row = { resolution, quant, tuning, ...settings, ...r, holds: holds(r) };
        rows.push(row);
        console.error(`${resolution} ${quant} ${tuning} (${settingsLabel(settings)}) ${cameras} cameras: ${row.holds ? 'holds' : 'breaks'} p99 ${r.latencySec.p99} s, dropped ${r.framesDropped}, frames ${r.framesIn}/${r.framesExpected}, windows ${r.windows}/${r.windowsExpected}, cores ${r.serviceCores}`);
        if (!row.holds) break;
      }
    }
  }
}

/** One configuration: resolution, model, decode tuning and, in a sweep, the engine settings. */
const configOf = (r: Row): string => [r.resolution, r.quant, r.tuning, ...(sweeping ? [r.maxBatch, r.maxWaitMs, r.threads === 0 ? 'default' : r.threads] : [])].join(' | ');

function table(rows: readonly Row[]): string {
  const configHead = `resolution | model | decode${sweeping ? ' | batch | wait ms | threads' : ''}`;
  const head = `| ${configHead} | cameras | holds | decode CPU s/cam·s | Node s/cam·s | inference s/cam·s | (feeders) | cores | frames in/expected | dropped | windows/expected | p50 s | p99 s | RSS MiB |`;
  const lines = rows.map((r) => `| ${configOf(r)} | ${r.cameras} | ${r.holds ? 'yes' : 'no'} | ${r.cpuPerCamera.decode} | ${r.cpuPerCamera.node} | ${r.cpuPerCamera.inference} | ${r.cpuPerCamera.feeders} | ${r.serviceCores} | ${r.framesIn}/${r.framesExpected} | ${r.framesDropped} | ${r.windows}/${r.windowsExpected} | ${r.latencySec.p50} | ${r.latencySec.p99} | ${r.rssMiB} |`);
  const capacity = [...new Set(rows.map(configOf))].map((k) => {
    const tried = rows.filter((r) => configOf(r) === k);
    const held = tried.filter((r) => r.holds).map((r) => r.cameras);
    // A sweep may start above 1 camera: nothing held then says "under" its first step, not 0.
    return `| ${k} | ${held.length === 0 ? `under ${Math.min(...tried.map((r) => r.cameras))}` : Math.max(...held)} |`;
  });
  const columns = (h: string): number => h.split('|').length - 2;
  const rule = (h: string): string => `|${' --- |'.repeat(columns(h))}`;
  const capHead = `| ${configHead} | cameras that hold |`;
  return [capHead, rule(capHead), ...capacity, '', head, rule(head), ...lines, ''].join('\n');
}

async function report(rows: readonly Row[]): Promise<void> {
  const date = new Date().toISOString();
  const setup = { model: 'ViT-B/32 (random weights, ONNX Runtime CPU)', window: 8, stride: 4, fps: 4, p99BoundSec: bound, warmupSec: Number(args.warmup), measureSec: Number(args.seconds), engineSettings: settingsList, tunings: TUNINGS };
  const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version };
  await mkdir(args.out, { recursive: true });
  const base = path.join(args.out, `${args.name}-${date.slice(0, 10)}`);
  await writeFile(`${base}.json`, `${JSON.stringify({ benchmark: 'cameras', date, machine, setup, rows }, null, 2)}\n`);
  const md = `# bench:cameras, ${date}\n\n${machine.cpus} × ${machine.cpu}, Node ${machine.node}; ${setup.model}; window 8, stride 4, 4 sampled fps; p99 bound ${bound} s.\n\n${table(rows)}`;
  await writeFile(`${base}.md`, md);
  const key = (r: Row): string => configOf(r).replaceAll(' | ', ' ');
  const seriesOf = (value: (r: Row) => number): Series[] =>
    [...new Set(rows.map(key))].map((name) => ({ name, points: rows.filter((r) => key(r) === name).map((r) => [r.cameras, value(r)] as const) }));
  await writeFile(`${base}.png`, await renderPlot(seriesOf((r) => r.latencySec.p99), seriesOf((r) => r.serviceCores), bound));
  process.stdout.write(`${md}\nwritten to ${path.relative(ROOT, base)}.{json,md,png}\n`);
}

await main();
