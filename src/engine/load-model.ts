import { openTextCache } from '../model/text-cache/open-text-cache.js';
import type { TextCacheOptions, TextEmbeddingCache } from '../model/text-cache/text-embedding-cache.js';
import { loadWeights, type LoadedWeights } from '../model/weights/load-weights.js';
import { resolveWeights } from '../models/resolve-weights.js';
import { checkpointTemplates } from '../training/trainer-state.js';
import { ConfigError } from '../errors.js';
import { ActionClipModel } from './action-clip-model.js';
import type { Engine, EngineWeights } from './engine.js';
import type { Quantization } from './onnx/layers.js';
import { webgpuHardwarePresent } from './gpu.js';
import { parseHeadOption, requestedEngine, resolveModelSpec, systemProbe, type EngineChoice, type ModelSpec } from './model-spec.js';

export interface LoadModelOptions {
  /** A `.safetensors` file (OpenAI or Hugging Face layout), a directory holding one, an ActionCLIP `.pt` checkpoint, or a catalogue name (`vit-b-32`: pulled into the cache on first use). */
  readonly weights: string;
  /** A fusion head `.safetensors` (with or without the `module.` prefix). */
  readonly fusion?: string;
  /** Temporal head: meanP, Conv_1D, LSTM, Transf, Transf_cls (paper spellings accepted). */
  readonly head?: string;
  /** Frames per video T. */
  readonly frames?: number;
  /** tfjs backend: tensorflow-gpu, tensorflow, wasm, cpu or auto (ACTIONCLIP_BACKEND also overrides). */
  readonly backend?: string;
  /** Compute engine; auto = webgpu on a hardware adapter, tfjs when tfjs-node-gpu sees a GPU (or Joint/Shift or a backend is asked for), else ONNX Runtime. ACTIONCLIP_ENGINE overrides auto. */
  readonly engine?: EngineChoice;
  readonly joint?: boolean;
  readonly shift?: boolean;
  /** Engine-specific settings (ONNX execution provider and threads; webgpu `allowSoftware`). */
  readonly engineOptions?: Record<string, unknown>;
  /**
   * `int8`: the ONNX engine's matmul weights quantised to 8 bits (about twice the frames/s on a CPU;
   * the error it adds is measured in docs/cameras-per-machine.md). With engine auto it picks ONNX.
   */
  readonly quantize?: Quantize;
  /**
   * Prompt embeddings kept on disk by weights hash and engine (default: on, under
   * `$ACTIONCLIP_HOME/text-embeddings`, 256 MiB); `false` turns it off.
   */
  readonly textCache?: TextCacheOptions | false;
}

/**
 * Loads weights, decides engine, head and T (resolveModelSpec), and builds the model on that engine,
 * with the text cache for those weights and the templates of a `train` output folder.
 */
export async function loadModel(given: LoadModelOptions): Promise<ActionClipModel> {
  const opts = withQuantize(given);
  // An unknown head fails before the weights (possibly gigabytes) are read.
  parseHeadOption(opts.head);
  const weightsPath = await resolveWeights(opts.weights);
  const templates = await checkpointTemplates(weightsPath);
  const weights = await loadWeights(weightsPath, { fusion: opts.fusion });
  const spec = resolveModelSpec(weights, opts, systemProbe(await autoMayPickWebGpu(opts)));
  const engine = await buildEngine(weights, spec, opts);
  try {
    return new ActionClipModel(engine, { templates, textCache: await textCacheFor(weights, engine, opts.textCache) });
  } catch (err) {
    engine.dispose();
    throw err;
  }
}

/** The ONNX engine's own quantization setting, which this option passes through. */
export type Quantize = Quantization;

/** int8 is an ONNX Runtime graph: auto then means ONNX, and another engine asked for is refused. */
function withQuantize(opts: LoadModelOptions): LoadModelOptions {
  if ((opts.quantize ?? 'none') === 'none') return opts;
  const engine = requestedEngine(opts);
  if (engine !== 'auto' && engine !== 'onnx') throw new ConfigError(`quantize ${opts.quantize} runs on the onnx engine, not ${engine}: drop --quantize or use --engine onnx`);
  return { ...opts, engine: 'onnx', engineOptions: { ...opts.engineOptions, quantize: opts.quantize } };
}

/** Only engine auto without a tfjs backend asked for looks for a WebGPU adapter (it loads dawn.node). */
async function autoMayPickWebGpu(opts: LoadModelOptions): Promise<boolean> {
  if (requestedEngine(opts) !== 'auto' || opts.backend !== undefined) return false;
  return webgpuHardwarePresent();
}

function textCacheFor(weights: LoadedWeights, engine: Engine, opts: TextCacheOptions | false | undefined): Promise<TextEmbeddingCache | null> {
  const { engine: kind, backend, precision, clip } = engine.info;
  // Text embeddings depend on the CLIP weights only, not on the fusion head.
  return openTextCache(weights.sources.shards ?? [weights.sources.clip], { engine: kind, backend, precision, contextLength: clip.contextLength }, opts);
}

/** Each engine is imported only when chosen: onnxruntime-node and the tfjs backends are heavy native modules. */
async function buildEngine(weights: EngineWeights, spec: ModelSpec, opts: LoadModelOptions): Promise<Engine> {
  if (spec.engine === 'tfjs') {
    const { buildTfjsEngine } = await import('./tfjs/tfjs-engine.js');
    return buildTfjsEngine(weights, spec, { backend: opts.backend });
  }
  if (spec.engine === 'webgpu') {
    const { buildWebGpuEngine } = await import('./webgpu/webgpu-engine.js');
    return buildWebGpuEngine(weights, spec, (opts.engineOptions ?? {}) as import('./webgpu/webgpu-engine.js').WebGpuEngineOptions);
  }
  const { buildOnnxEngine } = await import('./onnx/onnx-engine.js');
  // engineOptions is the ONNX engine's settings as the config carries them (provider, threads...).
  return buildOnnxEngine(weights, spec, (opts.engineOptions ?? {}) as import('./onnx/onnx-engine.js').OnnxEngineOptions);
}
