/**
 * ActionCLIP fine-tuning on TensorFlow.js. One step: B clips (T segment-sampled, augmented frames
 * each), one random prompt template per clip (ActionCLIP's text_aug), the symmetric KL
 * video-text loss with multi-positive ground truth (every same-label pair is a positive), the
 * gradients of the trainable variables only (frozen encoders are left out of the variable list,
 * paper Table 5), AdamW with the new modules (temporal head, Joint's time embedding) at
 * `lr × newModuleRatio`, global-norm clipping, and a per-step warm-up + cosine schedule.
 *
 * Randomness comes from one generator per epoch derived from the seed, and checkpoints are taken
 * at epoch ends, so a resumed run repeats exactly what an uninterrupted one would have done.
 */
import * as tf from '@tensorflow/tfjs';
import { MultiBar, type SingleBar } from 'cli-progress';
import { existsSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ActionClipModel } from '../engine/action-clip-model.js';
import type { EngineWeights } from '../engine/engine.js';
import { FUSION_PREFIX } from '../engine/tfjs/network/params.js';
import { createTfjsEngine, type TfjsEngine } from '../engine/tfjs/tfjs-engine.js';
import { ConfigError } from '../errors.js';
import { evaluate, type EvaluationResult } from '../evaluation/evaluator.js';
import { headDefinition } from '../heads/registry.js';
import { encodePrompts } from '../model/encode-prompts.js';
import { ACTIONCLIP_TEMPLATES, applyTemplate, expandPrompts, validateTemplates } from '../model/prompts.js';
import { tokenize } from '../model/tokenizer.js';
import { loadWeights } from '../model/weights/load-weights.js';
import { resolveWeights } from '../models/resolve-weights.js';
import { AdamW, makeParamGroups } from './adamw.js';
import { fusionFileName, loadOptimizerState, saveCheckpoint } from './checkpoint.js';
import { readTrainerState, resumedTemplates, STATE_FILE, type TrainerState } from './trainer-state.js';
import { epochBatches, FrameCache, makeTrainBatch, type ClipSource } from './clip-loader.js';
import { trainableParts, type TrainConfig } from './config.js';
import { fewShotSubset, loadDatasetList, type DatasetRecord } from './dataset.js';
import { klContrastiveLoss, multiPositiveTargets } from './loss.js';
import { createRng, type Rng } from './rng.js';
import { lrFactor } from './schedule.js';
import { loadVocabularyPreset } from './vocabulary-presets.js';

export interface TrainerOptions {
  /** tfjs backend (default: the best available; tests pass 'wasm'). */
  backend?: string;
  /** One line per event (epoch summaries, checkpoints); default: none. */
  log?: (line: string) => void;
  /** Draw a cli-progress bar on stderr (loss, learning rate, ETA). */
  progress?: boolean;
  /** Write checkpoints at the end of every epoch (default true). */
  checkpoints?: boolean;
  /** Byte budget of decoded videos kept between epochs. */
  cacheBytes?: number;
  signal?: AbortSignal;
  /** Train at the model's input size instead of requiring `config.inputSize` to match it. */
  adoptModelInputSize?: boolean;
}

export interface EpochMetrics {
  epoch: number;
  step: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Learning rate of each group at the epoch's last step. */
  lr: Record<string, number>;
  /** Mean global gradient norm (before clipping) and the fraction of steps that were clipped. */
  gradNorm: number;
  clipped: number;
  seconds: number;
  val?: { top1: number; top5: number; meanClassAccuracy: number; map: number; samples: number };
}

/** Which part of the model a parameter belongs to (for freezing and learning-rate groups). */
export function parameterPart(name: string): 'image' | 'text' | 'new' | 'logit_scale' {
  if (name.startsWith(FUSION_PREFIX) || name === 'visual.time_embedding') return 'new';
  if (name.startsWith('visual.')) return 'image';
  if (name === 'logit_scale') return 'logit_scale';
  return 'text';
}

/** The generator of one epoch: independent of how earlier epochs consumed theirs. */
function epochRng(seed: number, epoch: number): Rng {
  return createRng((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
}

export class Trainer {
  readonly optimizer: AdamW;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly templates: readonly string[];
  /** Epochs completed. */
  epoch: number;
  step: number;
  readonly history: EpochMetrics[];
  private readonly cache: FrameCache;
  private readonly source: ClipSource;
  /** Prompt embeddings `[templates·labels, D]` when the text encoder is frozen (computed once). */
  private textCache: tf.Tensor | null = null;
  private disposed = false;

  private constructor(
    readonly config: TrainConfig,
    readonly engine: TfjsEngine,
    readonly labels: readonly string[],
    readonly trainRecords: readonly DatasetRecord[],
    readonly valRecords: readonly DatasetRecord[],
    resumeState: TrainerState | undefined,
    private readonly options: TrainerOptions,
  ) {
    this.templates = config.templates ?? ACTIONCLIP_TEMPLATES;
    validateTemplates(this.templates);
    const parts = trainableParts(config.freeze);
    const trainable = (name: string): boolean => {
      const part = parameterPart(name);
      if (part === 'image') return parts.image;
      if (part === 'text') return parts.text;
      // The temperature belongs to CLIP; it stays fixed only when both encoders do.
      if (part === 'logit_scale') return parts.image || parts.text;
      return true;
    };
    const pretrained = engine.params.select((n) => parameterPart(n) !== 'new' && trainable(n));
    const newModules = engine.params.select((n) => parameterPart(n) === 'new');
    const groups = makeParamGroups({ pretrained, newModules, lr: config.lr, newModuleRatio: config.newModuleRatio });
    if (groups.length === 0) throw new ConfigError(`nothing to train: freeze "${config.freeze}" with head ${config.head} leaves no parameters`);
    this.optimizer = new AdamW(groups, { betas: config.betas, eps: config.eps, weightDecay: config.weightDecay, clipGradNorm: config.clipGradNorm });
    const n = trainRecords.length;
    this.stepsPerEpoch = n >= config.batchSize ? Math.floor(n / config.batchSize) : 1;
    this.totalSteps = this.stepsPerEpoch * config.epochs;
    this.epoch = resumeState?.epoch ?? 0;
    this.step = resumeState?.step ?? 0;
    this.history = (resumeState?.history as EpochMetrics[] | undefined) ?? [];
    this.cache = new FrameCache(options.cacheBytes);
    this.source = { frameTemplate: config.data.frameTemplate, indexBias: config.data.indexBias, cache: this.cache };
  }

  /**
   * Builds the model (from `config.resume` when set), the optimiser and the data. The head starts
   * from `config.fusion` / the checkpoint's head when it matches `config.head`, else fresh.
   */
  static async create(config: TrainConfig, options: TrainerOptions = {}): Promise<Trainer> {
    const log = options.log ?? (() => {});
    const labels = loadVocabularyPreset(config.data.labels).labels;
    const listOpts = { format: config.data.format, root: config.data.root, numClasses: labels.length };
    let train = await loadDatasetList(config.data.train, listOpts);
    if (config.data.fewShot) {
      train = fewShotSubset(train, config.data.fewShot);
      log(`few-shot: ${config.data.fewShot.k} example(s) per class, ${train.length} training clips`);
    }
    const val = config.data.val === undefined ? [] : await loadDatasetList(config.data.val, listOpts);

    let state: TrainerState | undefined;
    let weights: EngineWeights;
    if (config.resume !== undefined) {
      state = await readTrainerState(config.resume);
      if (state.head !== config.head) throw new ConfigError(`cannot resume: the checkpoint in ${config.resume} trained a ${state.head} head, the configuration asks for ${config.head}`);
      if (state.frames !== config.frames) throw new ConfigError(`cannot resume: the checkpoint used T=${state.frames}, the configuration T=${config.frames}`);
      const loaded = await loadWeights(config.resume, { fusion: config.head === 'meanP' ? 'meanP' : path.join(config.resume, fusionFileName(config.head)) });
      config = { ...config, templates: resumedTemplates(state, config.templates, config.resume) as string[] | undefined };
      weights = { ...loaded, frames: config.frames };
      log(`resuming from ${config.resume} after epoch ${state.epoch} (step ${state.step})`);
    } else {
      if (existsSync(path.join(config.outputDir, STATE_FILE))) {
        throw new ConfigError(`${config.outputDir} already holds a training run (${STATE_FILE}); resume it or choose another outputDir`);
      }
      const loaded = await loadWeights(await resolveWeights(config.weights), config.fusion === undefined ? {} : { fusion: config.fusion });
      let fusion = loaded.head === config.head ? loaded.fusion : null;
      if (config.head !== 'meanP' && fusion === null) {
        if (loaded.head !== null && loaded.head !== 'meanP') log(`the weights hold a ${loaded.head} head; starting a fresh ${config.head} head instead`);
        else log(`initialising a fresh ${config.head} head`);
        fusion = headDefinition(config.head).init({ embedDim: loaded.config.embedDim, frames: config.frames, contextLength: loaded.config.contextLength }, createRng(config.seed));
      }
      weights = { clip: loaded.clip, fusion, head: config.head, frames: config.frames, sources: loaded.sources };
    }
    const engine = await createTfjsEngine(weights, { head: config.head, frames: config.frames, backend: options.backend, log: (m, d) => log(`${m} ${JSON.stringify(d)}`) });
    try {
      const size = engine.info.clip.imageResolution;
      if (config.inputSize !== size && !options.adoptModelInputSize) throw new ConfigError(`inputSize is ${config.inputSize} but the model takes ${size}×${size} frames; set inputSize: ${size}`);
      const trainer = new Trainer(config, engine, labels, train, val, state, options);
      if (!trainableParts(config.freeze).text) await trainer.freezeText();
      if (state !== undefined) {
        if (state.totalSteps !== trainer.totalSteps) log(`note: the schedule now has ${trainer.totalSteps} steps (the checkpoint's had ${state.totalSteps})`);
        await loadOptimizerState(config.resume!, engine.params, trainer.optimizer, state.step);
      }
      await mkdir(config.outputDir, { recursive: true });
      return trainer;
    } catch (err) {
      engine.dispose();
      throw err;
    }
  }

  /** A model view of the current weights (fresh each call: its prompt cache must not outlive an update). */
  model(): ActionClipModel {
    return new ActionClipModel(this.engine);
  }

  /** A frozen text encoder gives every prompt the same embedding at every step: encode them once. */
  private async freezeText(): Promise<void> {
    const prompts = expandPrompts(this.labels, this.templates);
    const embeddings = await encodePrompts(this.engine, prompts);
    this.textCache = tf.tensor2d(embeddings, [prompts.length, this.engine.info.clip.embedDim]);
  }

  /** One optimiser step on a prepared batch; returns the loss and the optimiser's report. */
  trainStep(frames: Float32Array, labels: ArrayLike<number>, templateIds: ArrayLike<number>): { loss: number; gradNorm: number; clipScale: number; lrs: number[] } {
    const b = labels.length;
    const { frames: t, clip } = this.engine.info;
    const s = clip.imageResolution;
    const factor = lrFactor(Math.min(this.step, this.totalSteps - 1), { totalSteps: this.totalSteps, warmupFraction: this.config.warmupFraction });
    const pixels = tf.tensor4d(frames, [b * t, 3, s, s]);
    const gt = multiPositiveTargets(labels);
    let text: tf.Tensor;
    if (this.textCache !== null) {
      // Frozen text encoder: rows of the precomputed prompt table (template-major).
      text = tf.tensor1d(Int32Array.from({ length: b }, (_, i) => templateIds[i] * this.labels.length + labels[i]), 'int32');
    } else {
      const prompts = Array.from({ length: b }, (_, i) => applyTemplate(this.templates[templateIds[i]], this.labels[labels[i]]));
      text = tf.tensor2d(tokenize(prompts, clip.contextLength), [b, clip.contextLength], 'int32');
    }
    try {
      const r = this.optimizer.minimize(() => {
        const video = this.engine.videoForward(pixels, b);
        const emb = this.textCache !== null ? tf.gather(this.textCache, text) : this.engine.textForward(text);
        return klContrastiveLoss(video, emb, this.engine.logitScale, gt);
      }, factor);
      this.step++;
      return r;
    } finally {
      tf.dispose([pixels, gt, text]);
    }
  }

  /** Runs one epoch (the next one); evaluates and checkpoints as configured. */
  async trainEpoch(bar?: SingleBar): Promise<EpochMetrics> {
    if (this.disposed) throw new Error('the trainer was disposed');
    if (this.epoch >= this.config.epochs) throw new RangeError(`all ${this.config.epochs} epochs are done`);
    const started = performance.now();
    const rng = epochRng(this.config.seed, this.epoch);
    const batches = epochBatches(this.trainRecords, this.config.batchSize, rng);
    const aug = this.config.augment;
    const augment = {
      size: this.engine.info.clip.imageResolution,
      flip: aug.flip,
      colorJitter: aug.colorJitter ? undefined : (false as const),
      grayscale: aug.grayscale,
      multiScaleCrop: aug.multiScaleCrop,
    };
    let lossSum = 0;
    let normSum = 0;
    let clipped = 0;
    let lrs: number[] = [];
    for (const batch of batches) {
      this.options.signal?.throwIfAborted();
      const { frames, labels } = await makeTrainBatch(batch, rng, { ...this.source, segments: this.config.frames, augment });
      const templateIds = Int32Array.from(batch, () => rng.int(this.templates.length));
      const r = this.trainStep(frames, labels, templateIds);
      lossSum += r.loss;
      normSum += r.gradNorm;
      if (r.clipScale < 1) clipped++;
      lrs = r.lrs;
      bar?.update(this.step, { epoch: this.epoch + 1, loss: r.loss.toFixed(4), lr: (r.lrs[0] ?? 0).toExponential(2) });
    }
    this.epoch++;
    const metrics: EpochMetrics = {
      epoch: this.epoch,
      step: this.step,
      loss: lossSum / batches.length,
      lr: Object.fromEntries(this.optimizer.groups.map((g, i) => [g.name, lrs[i] ?? 0])),
      gradNorm: normSum / batches.length,
      clipped: clipped / batches.length,
      seconds: 0,
    };
    const every = this.config.eval.every;
    if (this.valRecords.length > 0 && every > 0 && (this.epoch % every === 0 || this.epoch === this.config.epochs)) {
      const r = await this.evaluate();
      metrics.val = { top1: r.top1, top5: r.top5, meanClassAccuracy: r.meanClassAccuracy, map: r.map, samples: r.samples };
    }
    metrics.seconds = (performance.now() - started) / 1000;
    this.history.push(metrics);
    await appendFile(path.join(this.config.outputDir, 'metrics.jsonl'), `${JSON.stringify(metrics)}\n`);
    if (this.options.checkpoints ?? true) await this.saveCheckpoint();
    return metrics;
  }

  /** Evaluates the current weights on `records` (default: the validation list). */
  async evaluate(records: readonly DatasetRecord[] = this.valRecords): Promise<EvaluationResult> {
    return evaluate(this.model(), records, {
      labels: this.labels,
      templates: this.templates,
      views: this.config.eval.views,
      batchSize: this.config.eval.batchSize ?? this.config.batchSize,
      source: this.source,
      signal: this.options.signal,
    });
  }

  /** Writes the checkpoint into outputDir (the loader reads that folder as weights). */
  async saveCheckpoint(dir = this.config.outputDir): Promise<void> {
    await mkdir(dir, { recursive: true });
    const state: TrainerState = {
      version: 1,
      epoch: this.epoch,
      step: this.step,
      totalSteps: this.totalSteps,
      stepsPerEpoch: this.stepsPerEpoch,
      head: this.engine.info.head,
      frames: this.engine.info.frames,
      seed: this.config.seed,
      templates: [...this.templates],
      history: this.history,
    };
    await saveCheckpoint(dir, this.engine.params, this.optimizer, state);
  }

  /** Trains the remaining epochs (or up to `untilEpoch`), logging and drawing progress. */
  async run(options: { untilEpoch?: number } = {}): Promise<EpochMetrics[]> {
    const until = Math.min(options.untilEpoch ?? this.config.epochs, this.config.epochs);
    const log = this.options.log ?? (() => {});
    log(
      `training ${this.engine.info.head} head, T=${this.engine.info.frames}, ${this.trainRecords.length} clips, batch ${this.config.batchSize}, ` +
        `${this.stepsPerEpoch} steps/epoch × ${this.config.epochs} epochs; trainable: ${this.optimizer.groups.map((g) => `${g.name} ${g.params.length} tensors @ lr ${g.lr}`).join(', ')}`,
    );
    // A MultiBar (of one bar) so that epoch lines print above the bar instead of through it.
    const multi = this.options.progress
      ? new MultiBar({
          format: 'epoch {epoch}/{epochs} |{bar}| step {value}/{total} | loss {loss} | lr {lr} | ETA {eta_formatted}',
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 20,
        })
      : undefined;
    const bar = multi?.create(this.totalSteps, this.step, { epoch: this.epoch + 1, epochs: this.config.epochs, loss: '-', lr: '-' });
    const out: EpochMetrics[] = [];
    try {
      while (this.epoch < until) {
        const m = await this.trainEpoch(bar);
        out.push(m);
        const val = m.val ? `  val top-1 ${(m.val.top1 * 100).toFixed(1)}% top-5 ${(m.val.top5 * 100).toFixed(1)}%` : '';
        const lr = Object.entries(m.lr).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ');
        const line = `epoch ${m.epoch}/${this.config.epochs}  step ${m.step}  loss ${m.loss.toFixed(4)}  grad-norm ${m.gradNorm.toFixed(2)}  lr ${lr}${val}  (${m.seconds.toFixed(1)} s)`;
        if (multi) multi.log(`${line}\n`);
        else log(line);
      }
    } finally {
      multi?.stop();
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.textCache?.dispose();
    this.optimizer.dispose();
    this.engine.dispose();
  }
}

/** Creates a trainer, trains every epoch, and returns the history with the trainer (caller disposes). */
export async function train(config: TrainConfig, options: TrainerOptions = {}): Promise<{ trainer: Trainer; history: EpochMetrics[] }> {
  const trainer = await Trainer.create(config, options);
  try {
    await trainer.run();
    return { trainer, history: trainer.history };
  } catch (err) {
    trainer.dispose();
    throw err;
  }
}
