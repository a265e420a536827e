import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../errors.js';
import { addTextCacheOptions, positiveIntFlag, quantizeFlag, textCacheFromFlags, type TextCacheFlags } from '../flags.js';
import { evaluate, evaluationToJson, formatEvaluationTable, loadEvalList, parseViews, type EvaluationResult } from '../../evaluation/evaluator.js';
import { loadModel, type Quantize } from '../../engine/load-model.js';
import { ACTIONCLIP_TEMPLATES } from '../../model/prompts.js';
import { checkpointTemplates } from '../../training/trainer-state.js';
import { FrameCache } from '../../training/clip-loader.js';
import { loadEvalConfig, loadTrainConfig, type EvalConfig } from '../../training/config.js';
import { Trainer } from '../../training/trainer.js';
import { loadVocabularyPreset } from '../../training/vocabulary-presets.js';

interface EvalFlags extends TextCacheFlags {
  config?: string;
  weights?: string;
  fusion?: string;
  head?: string;
  frames?: string;
  list?: string;
  labels?: string;
  vocabulary?: string;
  views?: string;
  batchSize?: string;
  zeroShot?: boolean;
  fewShot?: string;
  trainList?: string;
  epochs?: string;
  lr?: string;
  freeze?: string;
  seed?: string;
  output?: string;
  backend?: string;
  engine?: 'tfjs' | 'onnx' | 'webgpu' | 'auto';
  quantize?: string;
  json?: boolean;
  scores?: boolean;
}

/** Top-level keys the YAML file sets itself (so schema defaults do not override a checkpoint's head or T). */
function explicitKeys(file: string | undefined): Set<string> {
  if (file === undefined) return new Set();
  try {
    const doc = parseYaml(readFileSync(file, 'utf8')) as unknown;
    return new Set(doc !== null && typeof doc === 'object' ? Object.keys(doc) : []);
  } catch {
    return new Set(); // loadEvalConfig reports unreadable files properly
  }
}

export function registerEval(program: Command): void {
  const evalCommand = program
    .command('eval')
    .description('Evaluate a model on a labelled video list: top-1/top-5, per-class accuracy, mAP; zero-shot, few-shot or a trained checkpoint')
    .option('-c, --config <file>', 'evaluation configuration (YAML: weights, data.list, data.labels, views...)')
    .option('-w, --weights <path>', 'CLIP weights, a training output folder, an ActionCLIP .pt checkpoint, or a model name (vit-b-32, pulled on first use)')
    .option('--fusion <path>', 'temporal head weights (fusion-*.safetensors)')
    .option('--head <name>', "meanP, Conv_1D, LSTM, Transf or Transf_cls (default: the checkpoint's, else meanP)")
    .option('-T, --frames <n>', "frames per clip (default: the checkpoint's, else 8)")
    .option('--list <file>', 'list to evaluate (video_path label | path num_frames label; "3,17" labels make it multi-label)')
    .option('--labels <file|preset>', 'id,name CSV, vocabulary file, or a preset: kinetics400, ucf101, hmdb51')
    .option('--vocabulary <preset>', 'same as --labels with a preset name')
    .option('--views <n>', '1 (centre clip, the default), 30 (10 clips × 3 crops, the paper) or CLIPSxCROPS such as 10x1')
    .option('--batch-size <n>', 'views per forward pass')
    .option('--zero-shot', 'score with MeanP and no fusion weights (the paper\'s zero-shot setting)')
    .option('--few-shot <k>', 'fine-tune on K examples per class of --train-list first, then evaluate')
    .option('--train-list <file>', 'training list for --few-shot')
    .option('--epochs <n>', 'few-shot epochs', '10')
    .option('--lr <x>', 'few-shot learning rate of the pre-trained parts', '5e-6')
    .option('--freeze <part>', 'few-shot: none, text, image or both', 'none')
    .option('--seed <n>', 'few-shot subset and training seed')
    .option('-o, --output <dir>', 'write metrics.json (and the few-shot checkpoint) here')
    .option('--backend <name>', 'tfjs backend: auto, tensorflow-gpu, tensorflow, wasm, cpu')
    .option('--engine <name>', 'tfjs, onnx, webgpu or auto (few-shot always trains on tfjs)')
    .option('--quantize <mode>', 'none or int8 (ONNX engine: 8-bit matmul weights, about twice the frames/s on a CPU)')
    .option('--json', 'print JSON instead of a table')
    .option('--scores', 'with --json: include every video\'s class scores');
  addTextCacheOptions(evalCommand).action(runEval);
}

/** The evaluation configuration from the YAML file and flags, and which keys were given explicitly. */
function evalConfigFrom(flags: EvalFlags): { config: EvalConfig; given: Set<string> } {
  const labelsSpec = flags.labels ?? flags.vocabulary;
  const overrides: Record<string, unknown> = {};
  if (flags.weights !== undefined) overrides.weights = flags.weights;
  if (flags.fusion !== undefined) overrides.fusion = flags.fusion;
  if (flags.head !== undefined) overrides.head = flags.head;
  if (flags.frames !== undefined) overrides.frames = positiveIntFlag(flags.frames, '--frames');
  if (flags.batchSize !== undefined) overrides.batchSize = positiveIntFlag(flags.batchSize, '--batch-size');
  if (flags.output !== undefined) overrides.outputDir = flags.output;
  const data: Record<string, unknown> = {};
  if (flags.list !== undefined) data.list = flags.list;
  if (labelsSpec !== undefined) data.labels = labelsSpec;
  if (Object.keys(data).length > 0) overrides.data = data;
  if (flags.views !== undefined) overrides.views = parseViews(flags.views);
  const config: EvalConfig = loadEvalConfig(flags.config, overrides);
  const given = explicitKeys(flags.config);
  for (const k of Object.keys(overrides)) given.add(k);
  return { config, given };
}

type EvaluateOptions = Parameters<typeof evaluate>[2];
type EvalRecords = Awaited<ReturnType<typeof loadEvalList>>;
interface EvalRun {
  readonly result: EvaluationResult;
  readonly setting: string;
}

/** Fine-tunes on K examples per class of --train-list, then evaluates the result. */
async function runFewShot(k: number, flags: EvalFlags, config: EvalConfig, given: Set<string>, records: EvalRecords, opts: EvaluateOptions): Promise<EvalRun> {
  if (flags.zeroShot) throw new ConfigError('--zero-shot and --few-shot exclude each other');
  if (flags.trainList === undefined) throw new ConfigError('--few-shot needs --train-list (the examples are drawn from it)');
  const outputDir = config.outputDir ?? (await mkdtemp(path.join(os.tmpdir(), 'actionclip-fewshot-')));
  const train = loadTrainConfig(undefined, {
    weights: config.weights,
    ...(config.fusion !== undefined ? { fusion: config.fusion } : {}),
    head: given.has('head') ? config.head : 'meanP',
    ...(config.templates !== undefined ? { templates: config.templates } : {}),
    data: { train: flags.trainList, labels: config.data.labels, format: config.data.format, frameTemplate: config.data.frameTemplate, indexBias: config.data.indexBias, fewShot: { k, seed: Number(flags.seed ?? config.seed) } },
    frames: config.frames,
    inputSize: config.inputSize,
    batchSize: config.batchSize,
    epochs: positiveIntFlag(flags.epochs, '--epochs'),
    lr: Number(flags.lr),
    freeze: flags.freeze,
    seed: Number(flags.seed ?? config.seed),
    outputDir,
    eval: { every: 0 },
  });
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const trainer = await Trainer.create(train, { backend: flags.backend, log, progress: process.stderr.isTTY === true, adoptModelInputSize: !given.has('inputSize') });
  try {
    await trainer.run();
    const result = await evaluate(trainer.model(), records, opts);
    return { result, setting: `few-shot (K=${k}, ${trainer.trainRecords.length} clips, ${trainer.epoch} epochs, head ${trainer.engine.info.head}); checkpoint in ${outputDir}` };
  } finally {
    trainer.dispose();
    if (config.outputDir === undefined) await rm(outputDir, { recursive: true, force: true });
  }
}

/** Evaluates the weights as they are (zero-shot with MeanP, or a trained checkpoint). */
async function runCheckpoint(flags: EvalFlags, quantize: Quantize | undefined, config: EvalConfig, given: Set<string>, records: EvalRecords, opts: EvaluateOptions): Promise<EvalRun> {
  const model = await loadModel({
    weights: config.weights,
    fusion: flags.zeroShot ? 'meanP' : config.fusion,
    head: flags.zeroShot ? 'meanP' : given.has('head') ? config.head : undefined,
    frames: given.has('frames') ? config.frames : undefined,
    backend: flags.backend,
    engine: flags.engine,
    quantize,
    textCache: textCacheFromFlags(flags),
  });
  try {
    const result = await evaluate(model, records, opts);
    const templates = opts.templates?.length ?? ACTIONCLIP_TEMPLATES.length;
    return { result, setting: `${flags.zeroShot ? 'zero-shot' : 'checkpoint'} (head ${model.info.head}, T=${model.info.frames}, ${model.info.engine}/${model.info.backend}, ${templates} templates)` };
  } finally {
    model.dispose();
  }
}

async function runEval(flags: EvalFlags): Promise<void> {
  const { config, given } = evalConfigFrom(flags);
  const labels = loadVocabularyPreset(config.data.labels).labels;
  const records = await loadEvalList(config.data.list, { format: config.data.format, root: config.data.root, numClasses: labels.length });
  const source = { frameTemplate: config.data.frameTemplate, indexBias: config.data.indexBias, cache: new FrameCache() };
  // A training output folder carries its templates: score with what it was trained with.
  const templates = config.templates ?? (flags.fewShot === undefined ? await checkpointTemplates(config.weights) : undefined);
  const opts: EvaluateOptions = { labels, templates, views: config.views, batchSize: config.batchSize, source };
  const k = positiveIntFlag(flags.fewShot, '--few-shot');
  const quantize = quantizeFlag(flags.quantize);
  if (k !== undefined && (quantize ?? 'none') !== 'none') throw new ConfigError('--few-shot trains on tfjs in float32: --quantize applies to a checkpoint or zero-shot evaluation');
  const { result, setting } = k !== undefined ? await runFewShot(k, flags, config, given, records, opts) : await runCheckpoint(flags, quantize, config, given, records, opts);

  const json = { setting, weights: config.weights, list: config.data.list, ...evaluationToJson(result, { scores: flags.scores }) };
  if (config.outputDir !== undefined) {
    await mkdir(config.outputDir, { recursive: true });
    await writeFile(path.join(config.outputDir, 'metrics.json'), `${JSON.stringify(json, null, 2)}\n`);
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else process.stdout.write(`${setting}\n${formatEvaluationTable(result)}`);
}
