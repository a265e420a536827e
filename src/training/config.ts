/**
 * Configuration of the `train` and `eval` commands: one zod schema each (the single source of
 * truth for keys, defaults and checks), read from YAML with relative paths resolved against the
 * YAML file's folder, flags merged over the file. Defaults follow ActionCLIP's released configs
 * (AdamW, betas 0.9/0.98, weight decay 0.2, new modules at 10× the rate, cosine with warm-up,
 * T = 8) except where a note says otherwise.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { deepMerge, parseOrThrow, type ConfigInput } from '../../config/load.js';
import { TemplatesSchema } from '../../config/schema.js';
import { ConfigError } from '../errors.js';
import { HEAD_NAMES, parseHeadName, type HeadName } from '../model/heads.js';
import { isModelName } from '../models/resolve-weights.js';

const HeadSchema = z
  .string()
  .min(1)
  .transform((s, ctx): HeadName => {
    const h = parseHeadName(s);
    if (h === undefined) {
      ctx.addIssue({ code: 'custom', message: `unknown head "${s}" (one of ${HEAD_NAMES.join(', ')})` });
      return z.NEVER;
    }
    return h;
  });

const DataSchema = z.strictObject({
  /** List file (`video_path label` or `path num_frames label`). */
  train: z.string().min(1),
  val: z.string().min(1).optional(),
  /** `id,name` CSV, vocabulary file, or preset name (kinetics400, ucf101, hmdb51). */
  labels: z.string().min(1),
  format: z.enum(['auto', 'frames', 'video']).default('auto'),
  /** Folder relative list paths resolve against; default each list's own folder. */
  root: z.string().min(1).optional(),
  /** Frame file names in frame folders: Python (`img_{:05d}.jpg`) or printf (`%05d`) style. */
  frameTemplate: z.string().min(1).default('img_{:05d}.jpg'),
  /** Number of the first frame file (TSN extractions start at 1). */
  indexBias: z.number().int().min(0).default(1),
  /** Few-shot: K training examples per class, chosen with `seed`. */
  fewShot: z.strictObject({ k: z.number().int().positive(), seed: z.number().int().default(0) }).optional(),
});

const ViewsSchema = z.strictObject({
  /** Temporal clips per video (ActionCLIP multi-view testing: 10). */
  clips: z.number().int().positive().default(1),
  /** Spatial crops: 1 (centre) or 3 (left/centre/right). */
  crops: z.union([z.literal(1), z.literal(3)]).default(1),
});

const AugmentSchema = z.strictObject({
  multiScaleCrop: z.boolean().default(true),
  /** Off for direction-sensitive actions ("moving left" vs "moving right"). */
  flip: z.boolean().default(true),
  colorJitter: z.boolean().default(true),
  grayscale: z.number().min(0).max(1).default(0.2),
});

export const FREEZE_OPTIONS = ['none', 'text', 'image', 'both'] as const;

export const TrainConfigSchema = z
  .strictObject({
    /** Pre-trained CLIP (or ActionCLIP checkpoint) to start from. */
    weights: z.string().min(1),
    /** Temporal head weights; absent: the head starts from its initialisation. */
    fusion: z.string().min(1).optional(),
    head: HeadSchema.default('Transf'),
    templates: TemplatesSchema.optional(),
    data: DataSchema,
    /** Frames per clip (T). */
    frames: z.number().int().positive().default(8),
    inputSize: z.number().int().positive().default(224),
    batchSize: z.number().int().positive().default(16),
    epochs: z.number().int().positive().default(10),
    lr: z.number().positive().default(5e-6),
    /** Rate multiplier of newly initialised modules (the fusion head). */
    newModuleRatio: z.number().positive().default(10),
    weightDecay: z.number().min(0).default(0.2),
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.98]),
    eps: z.number().positive().default(1e-6),
    warmupFraction: z.number().min(0).lt(1).default(0.1),
    /** Global-norm gradient clipping; 0 disables it. */
    clipGradNorm: z.number().min(0).default(20),
    /** Which CLIP encoders stay fixed; the head always trains. */
    freeze: z.enum(FREEZE_OPTIONS).default('none'),
    augment: AugmentSchema.default({ multiScaleCrop: true, flip: true, colorJitter: true, grayscale: 0.2 }),
    seed: z.number().int().default(1024),
    outputDir: z.string().min(1),
    /** Checkpoint to resume (weights, optimiser state, epoch). */
    resume: z.string().min(1).optional(),
    eval: z
      .strictObject({
        /** Evaluate on data.val every N epochs (0: never). */
        every: z.number().int().min(0).default(1),
        batchSize: z.number().int().positive().optional(),
        views: ViewsSchema.default({ clips: 1, crops: 1 }),
      })
      .default({ every: 1, views: { clips: 1, crops: 1 } }),
  })
  .superRefine((c, ctx) => {
    if (c.freeze === 'both' && c.head === 'meanP') {
      ctx.addIssue({ code: 'custom', path: ['freeze'], message: 'freeze "both" with the meanP head (no weights) leaves nothing to train' });
    }
    if (c.eval.every > 0 && c.data.val === undefined) {
      ctx.addIssue({ code: 'custom', path: ['eval', 'every'], message: 'evaluation during training needs data.val (or set eval.every: 0)' });
    }
  });
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

export const EvalConfigSchema = z.strictObject({
  weights: z.string().min(1),
  fusion: z.string().min(1).optional(),
  head: HeadSchema.default('Transf'),
  templates: TemplatesSchema.optional(),
  data: DataSchema.omit({ train: true, val: true, fewShot: true }).extend({ list: z.string().min(1) }),
  frames: z.number().int().positive().default(8),
  inputSize: z.number().int().positive().default(224),
  batchSize: z.number().int().positive().default(16),
  views: ViewsSchema.default({ clips: 1, crops: 1 }),
  seed: z.number().int().default(1024),
  /** Where to write the metrics JSON (and per-video scores); absent: print only. */
  outputDir: z.string().min(1).optional(),
});
export type EvalConfig = z.infer<typeof EvalConfigSchema>;

function looksLikePath(s: string): boolean {
  return s.includes('/') || s.includes('\\') || /\.[a-z0-9]+$/i.test(s);
}

/** Paths in a YAML file are relative to that file, not to the working directory. */
function resolvePaths(input: ConfigInput, baseDir: string): ConfigInput {
  const out: ConfigInput = { ...input };
  const abs = (v: unknown): unknown => (typeof v === 'string' && !path.isAbsolute(v) ? path.resolve(baseDir, v) : v);
  for (const key of ['weights', 'fusion', 'outputDir', 'resume']) if (key in out) out[key] = abs(out[key]);
  // A catalogue model name (weights: vit-b-32) stays a name.
  if (typeof input.weights === 'string' && isModelName(input.weights, baseDir)) out.weights = input.weights;
  if (typeof out.data === 'object' && out.data !== null && !Array.isArray(out.data)) {
    const data: ConfigInput = { ...(out.data as ConfigInput) };
    for (const key of ['train', 'val', 'list', 'root']) if (key in data) data[key] = abs(data[key]);
    // A labels value that looks like a path is a file; a bare name is a preset.
    if (typeof data.labels === 'string' && looksLikePath(data.labels)) data.labels = abs(data.labels);
    out.data = data;
  }
  return out;
}

function readYaml(file: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${file} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${file}: expected a mapping at the top level`);
  return resolvePaths(doc as ConfigInput, path.dirname(path.resolve(file)));
}

/**
 * Builds a training configuration from an optional YAML file and overrides (flags; relative
 * paths in overrides are relative to the working directory). Errors name the offending keys.
 */
export function loadTrainConfig(file?: string, overrides: ConfigInput = {}): TrainConfig {
  const base = file === undefined ? {} : readYaml(file);
  const merged = deepMerge(base, resolvePaths(overrides, process.cwd()));
  return parseOrThrow(TrainConfigSchema, merged, file === undefined ? 'training configuration' : `training configuration (${file})`);
}

export function loadEvalConfig(file?: string, overrides: ConfigInput = {}): EvalConfig {
  const base = file === undefined ? {} : readYaml(file);
  const merged = deepMerge(base, resolvePaths(overrides, process.cwd()));
  return parseOrThrow(EvalConfigSchema, merged, file === undefined ? 'evaluation configuration' : `evaluation configuration (${file})`);
}

/** Which encoders train under a freeze option. */
export function trainableParts(freeze: TrainConfig['freeze']): { image: boolean; text: boolean; head: true } {
  return { image: freeze === 'none' || freeze === 'text', text: freeze === 'none' || freeze === 'image', head: true };
}
