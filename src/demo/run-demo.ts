/**
 * The offline demo, start to end: the cached demo model (trained on first use), two synthetic
 * cameras, the live service on them, and the verdict. Needs nothing outside this package: no
 * network, no reference fixtures.
 */
import path from 'node:path';
import { ensureCameraClips } from './camera-clips.js';
import { runCameraDemo } from './camera-demo.js';
import { linkCurrentDemo } from './current-links.js';
import { ensureDemoModel, pct, type DemoModel } from './demo-model.js';
import { formatVerdict, judgeCameras, type CameraVerdict } from './verdict.js';

export interface DemoOptions {
  /** Everything the demo writes goes here (default `.cache/demo`). */
  readonly cacheDir: string;
  /** Engine and backend of the `run` service (default: the service's own choice). */
  readonly engine?: string;
  readonly backend?: string;
  /** tfjs backend for training the demo model (default: the best available). */
  readonly trainBackend?: string;
  readonly print: (line: string) => void;
  readonly timeoutMs?: number;
  /** Train (or find) the model and write the clips, then stop: no service run (image builds). */
  readonly prepareOnly?: boolean;
}

export interface DemoResult {
  readonly model: DemoModel;
  readonly verdicts: readonly CameraVerdict[];
  readonly ok: boolean;
}

/** How to leave the demo for a real model (printed first and last). */
export const REAL_MODEL_HINT = [
  'This is a DEMO model: a tiny CLIP trained here in a minute or two on synthetic shapes; it knows only "growing" and "shrinking".',
  'For real actions use real CLIP/ActionCLIP weights: WEIGHTS=/path/to/model.safetensors bash scripts/quickstart.sh,',
  'or actionclip-stream run --weights /path/to/model.safetensors --camera door=rtsp://... --labels "walking,running" (README, Quick start).',
];

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const { print } = opts;
  print('demo: offline demo of actionclip-stream on synthetic cameras (a demo model, not a real one)');
  const model = await ensureDemoModel({ cacheDir: opts.cacheDir, backend: opts.trainBackend, log: print });
  const rel = path.relative(process.cwd(), model.dir);
  const where = rel.startsWith('..') || rel === '' ? model.dir : rel;
  print(
    model.cached
      ? `demo: reusing the demo model cached in ${where} (held-out top-1 ${pct(model.valTop1)}; delete the folder to retrain)`
      : `demo: trained in ${model.trainSeconds.toFixed(0)} s, held-out top-1 ${pct(model.valTop1)}; cached in ${where}`,
  );
  const cameras = await ensureCameraClips(opts.cacheDir);
  await linkCurrentDemo(opts.cacheDir, model.dir, cameras.map((c) => c.file));
  if (opts.prepareOnly === true) return { model, verdicts: [], ok: true };
  print(`demo: actionclip-stream run on ${cameras.length} synthetic cameras (${cameras.map((c) => `${c.id}: ${c.expected} clips`).join(', ')}), labels ${model.labels.join(', ')}`);
  const messages = await runCameraDemo({ model, cameras, cacheDir: opts.cacheDir, engine: opts.engine, backend: opts.backend, print, timeoutMs: opts.timeoutMs });
  const verdicts = judgeCameras(messages, cameras);
  for (const v of verdicts) print(`demo: ${formatVerdict(v)}`);
  return { model, verdicts, ok: verdicts.every((v) => v.ok) };
}
