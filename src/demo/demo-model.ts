/**
 * The demo model, trained once and cached: random tiny CLIP -> synthetic dataset -> fine-tuning
 * with the project's own Trainer -> a checkpoint folder that is ordinary `--weights`. The folder is
 * named by the recipe's key and appears only when complete (built beside it, then renamed), so an
 * interrupted run never leaves a model that looks trained, and a changed recipe trains anew.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ActionClipError } from '../errors.js';
import { writeSafetensors } from '../model/weights/safetensors.js';
import { syntheticClipWeights } from '../model/weights/synthetic-weights.js';
import { loadTrainConfig } from '../training/config.js';
import { generateSyntheticDataset } from '../training/synthetic-dataset.js';
import { Trainer } from '../training/trainer.js';
import { DEMO_RECIPE, modelKey } from './recipe.js';

/** The demo could not be built or did not show what it should. */
export class DemoError extends ActionClipError {}

/** Written last into the model folder: its presence means "complete". */
export const DEMO_MODEL_FILE = 'demo-model.json';

export interface DemoModel {
  /** Checkpoint folder (clip.safetensors + fusion-LSTM.safetensors): `--weights` for run. */
  readonly dir: string;
  readonly key: string;
  readonly labels: readonly string[];
  readonly templates: readonly string[];
  readonly head: string;
  /** Held-out top-1 after training. */
  readonly valTop1: number;
  readonly trainSeconds: number;
  /** True when this call found it in the cache. */
  readonly cached: boolean;
}

export interface DemoModelOptions {
  /** The demo's cache folder (default `.cache/demo`). */
  readonly cacheDir: string;
  /** tfjs backend for training; default the best available. */
  readonly backend?: string;
  readonly log?: (line: string) => void;
  readonly recipe?: typeof DEMO_RECIPE;
}

type Stored = Omit<DemoModel, 'dir' | 'cached'>;

/** The cached demo model, training it first when this recipe has none yet. */
export async function ensureDemoModel(opts: DemoModelOptions): Promise<DemoModel> {
  const recipe = opts.recipe ?? DEMO_RECIPE;
  const key = modelKey(recipe);
  const cacheDir = path.resolve(opts.cacheDir);
  const dir = path.join(cacheDir, `model-${key}`);
  await removeAbandonedWork(cacheDir);
  const cached = await readCached(dir);
  if (cached !== undefined) return cached;
  const work = path.join(cacheDir, `work-${key}-${process.pid}`);
  // A folder of this pid can only be left by an earlier process that had the same pid.
  await rm(work, { recursive: true, force: true });
  try {
    const stored = await trainDemoModel(work, key, recipe, opts);
    await writeFile(path.join(work, 'run', DEMO_MODEL_FILE), `${JSON.stringify(stored, null, 2)}\n`);
    try {
      await rename(path.join(work, 'run'), dir);
    } catch (err) {
      // Another quick start finished the same recipe first: its model is as good as this one.
      const theirs = await readCached(dir);
      if (theirs === undefined) throw new DemoError(`cannot move the trained demo model to ${dir}: ${(err as Error).message}`, { cause: err });
      return theirs;
    }
    return { ...stored, dir, cached: false };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function readCached(dir: string): Promise<DemoModel | undefined> {
  const marker = path.join(dir, DEMO_MODEL_FILE);
  if (!existsSync(marker)) return undefined;
  const stored = JSON.parse(await readFile(marker, 'utf8')) as Stored;
  return { ...stored, dir, cached: true };
}

/** Work folders of runs that were killed (their process is gone): a few dozen MB each. */
async function removeAbandonedWork(cacheDir: string): Promise<void> {
  const entries = existsSync(cacheDir) ? await readdir(cacheDir) : [];
  for (const name of entries) {
    const pid = Number(/^work-[0-9a-f]+-(\d+)$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && !isAlive(pid)) await rm(path.join(cacheDir, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function trainDemoModel(work: string, key: string, recipe: typeof DEMO_RECIPE, opts: DemoModelOptions): Promise<Stored> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  await mkdir(work, { recursive: true });
  const init = path.join(work, 'clip-random.safetensors');
  await writeSafetensors(init, syntheticClipWeights(recipe.clip, recipe.weightsSeed));
  log(`demo: generating ${recipe.data.trainPerClass + recipe.data.valPerClass} synthetic clips per class (${recipe.classes.join(', ')})`);
  const ds = await generateSyntheticDataset({ outDir: path.join(work, 'data'), classes: recipe.classes, ...recipe.data });
  const { train } = recipe;
  const config = loadTrainConfig(undefined, {
    ...train,
    templates: [...train.templates],
    weights: init,
    data: { train: ds.trainList, val: ds.valList, labels: ds.labelsFile, format: 'video' },
    outputDir: path.join(work, 'run'),
    eval: { every: 1 },
  });
  log(`demo: fine-tuning a tiny random CLIP (${train.head} head, ${train.epochs} epochs) on them; a minute or two`);
  const trainer = await Trainer.create(config, { backend: opts.backend, log: (l) => log(`demo: ${l}`) });
  let valTop1: number;
  try {
    await trainer.run();
    valTop1 = trainer.history.at(-1)?.val?.top1 ?? 0;
  } finally {
    trainer.dispose();
  }
  if (valTop1 < recipe.minValTop1) {
    throw new DemoError(
      `the demo model reached ${pct(valTop1)} held-out top-1 after training, below the ${pct(recipe.minValTop1)} the recipe needs; nothing was cached (recipe ${key})`,
    );
  }
  const trainSeconds = (Date.now() - started) / 1000;
  return { key, labels: ds.labels, templates: [...train.templates], head: train.head, valTop1, trainSeconds };
}

export function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
