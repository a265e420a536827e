/**
 * The ONNX Runtime engine: ONNX graphs of the CLIP encoders and the temporal head are built in
 * TypeScript from the loaded weights, cached on disk, and run by onnxruntime-node.
 */
import * as ort from 'onnxruntime-node';
import { ConfigError, WeightsError } from '../../errors.js';
import { type ClipConfig, clipConfigFromWeights } from '../../model/clip-config.js';
import type { HeadName } from '../../model/heads.js';
import type { TensorMap } from '../../model/weights/tensor-map.js';
import type { Engine, EngineInfo, EngineOptions } from '../engine.js';
import { cachedGraph, defaultCacheDir, graphKey } from './cache.js';
import { buildImageGraph, buildTextGraph, type GraphOptions } from './clip-graphs.js';
import { buildFusionGraph, detectHead, framesFromFusion } from './fusion-graphs.js';
import type { FloatType } from './graph.js';
import { type BlockImpl, type Quantization, WeightSource } from './layers.js';
import { type GraphOptimizationLevel, type OnnxLogger, type ProviderName, type ProviderRequest, consoleLogger, defaultThreads, openSession, providerCandidates } from './session.js';

export { GRAPH_BUILDER_VERSION, defaultCacheDir } from './cache.js';
export { buildImageGraph, buildTextGraph } from './clip-graphs.js';
export { buildFusionGraph, detectHead } from './fusion-graphs.js';
export { providerAvailability, type OnnxLogger, type ProviderName, type ProviderRequest } from './session.js';
export type { BlockImpl, Quantization } from './layers.js';

/** What `loadWeights` returns (EngineWeights; only these fields are read). */
export interface LoadedWeightsLike {
  /** CLIP state dict, OpenAI key names, float32. */
  readonly clip: TensorMap;
  /** Temporal head state dict (a leading `module.` is tolerated), or null for meanP. */
  readonly fusion: TensorMap | null;
  readonly head?: HeadName | null;
  readonly frames?: number | null;
}

/**
 * `head`: default the weights' head, else detected from the fusion keys (none: meanP).
 * `frames`: default the weights' T (Transf_cls fixes it), else 8. `joint`/`shift` are not built here.
 */
export interface OnnxEngineOptions extends EngineOptions {
  /** Execution provider; 'auto' takes TensorRT > CUDA > CPU, whichever the installed onnxruntime-node provides. Default 'cpu'. */
  provider?: ProviderRequest;
  deviceId?: number;
  /** fp16 weights and activations (GPU providers only; ignored with a warning on CPU). */
  fp16?: boolean;
  /** Default: the number of cores. */
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: GraphOptimizationLevel;
  /**
   * Intra-op threads spin while waiting for work. Default false: on a machine shared with decoding
   * and the rest of the pipeline, spinning burns the cores those need (measured: more GFLOP per
   * CPU-second without it at every batch size; see docs/onnx-engine.md).
   */
  allowSpinning?: boolean;
  /** 'fused' (default) uses ONNX Runtime's com.microsoft Attention/SkipLayerNormalization/QuickGelu; 'onnx' standard ops only. */
  impl?: BlockImpl;
  /**
   * 'int8': the encoders' transformer linear layers run as int8 DynamicQuantizeMatMul (about 3× the
   * fp32 matmul rate on AVX-512 VNNI / AVX2 CPUs) at some accuracy cost (see docs/onnx-engine.md). Default 'none'.
   */
  quantize?: Quantization;
  /** Cache serialized graphs on disk (default true). */
  cache?: boolean;
  /** Default `$ACTIONCLIP_CACHE/onnx` or `~/.cache/actionclip-stream/onnx`. */
  cacheDir?: string;
  /** Build only some of the three graphs (benchmarks); the others throw when called. */
  parts?: { image?: boolean; text?: boolean; fusion?: boolean };
  logger?: OnnxLogger;
}

function stripModule(m: TensorMap): TensorMap {
  if (![...m.keys()].some((k) => k.startsWith('module.'))) return m;
  const out: TensorMap = new Map();
  for (const [k, v] of m) out.set(k.startsWith('module.') ? k.slice('module.'.length) : k, v);
  return out;
}

/** The engine plus what it was built with (graph files, cache hits, settings). */
export interface OnnxEngine extends Engine {
  readonly details: {
    readonly impl: BlockImpl;
    readonly floatType: FloatType;
    readonly quant: Quantization;
    readonly intraOpNumThreads: number;
    readonly allowSpinning: boolean;
    readonly cacheDir: string | null;
    readonly files: { readonly image?: string | null; readonly text?: string | null; readonly fusion?: string | null };
    readonly cacheHits: { readonly image?: boolean; readonly text?: boolean; readonly fusion?: boolean };
  };
}

interface Part {
  session: ort.InferenceSession;
  provider: ProviderName;
  file: string | null;
  cacheHit: boolean;
}

export async function createOnnxEngine(weights: LoadedWeightsLike, opts: OnnxEngineOptions = {}): Promise<OnnxEngine> {
  const logger = opts.logger ?? consoleLogger;
  if (opts.joint === true || opts.shift === true || weights.clip.has('visual.time_embedding')) {
    throw new ConfigError('the onnx engine builds the plain ViT image encoder; Joint and Shift models need the tfjs engine');
  }
  const cfg: ClipConfig = clipConfigFromWeights(weights.clip);
  const clip = new WeightSource(weights.clip, '<clip weights>');
  const fusionMap = weights.fusion === null ? null : stripModule(weights.fusion);
  const fusion = fusionMap === null ? null : new WeightSource(fusionMap, '<fusion weights>');
  const head: HeadName = opts.head ?? weights.head ?? detectHead(fusion);
  if (head !== 'meanP' && fusion === null) throw new WeightsError(`the ${head} head needs fusion weights, none were loaded`, '<fusion weights>');
  const fixedT = framesFromFusion(fusion, head);
  const frames = opts.frames ?? weights.frames ?? fixedT ?? 8;
  if (fixedT !== null && frames !== fixedT) throw new ConfigError(`the ${head} head was trained for T=${fixedT} frames; ${frames} were requested`);
  if (!Number.isInteger(frames) || frames < 1) throw new ConfigError(`frames must be a positive integer, got ${frames}`);

  const candidates = providerCandidates(opts.provider ?? 'cpu', logger);
  let floatType: FloatType = 'float32';
  if (opts.fp16) {
    if (candidates[0] === 'cpu') logger.warn('fp16 requested but the provider is cpu (ONNX Runtime has few fp16 CPU kernels): running fp32');
    else floatType = 'float16';
  }
  const impl: BlockImpl = opts.impl ?? 'fused';
  const quant: Quantization = opts.quantize ?? 'none';
  if (quant === 'int8' && floatType === 'float16') throw new ConfigError('quantize int8 and fp16 are exclusive: pick one');
  const graphOpts: GraphOptions = { impl, floatType, quant };
  const settings = {
    provider: opts.provider ?? 'cpu',
    deviceId: opts.deviceId ?? 0,
    intraOpNumThreads: opts.intraOpNumThreads ?? defaultThreads(),
    interOpNumThreads: opts.interOpNumThreads ?? 1,
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
    allowSpinning: opts.allowSpinning ?? false,
    logger,
  } as const;
  const useCache = opts.cache ?? true;
  const dir = opts.cacheDir ?? defaultCacheDir();

  const open = async (kind: string, tensors: TensorMap | null, select: (k: string) => boolean, extra: Record<string, unknown>, build: () => Uint8Array): Promise<Part> => {
    let model: string | Uint8Array;
    let file: string | null = null;
    let cacheHit = false;
    if (useCache) {
      const key = graphKey(kind, { ...graphOpts, ...extra }, tensors, select);
      const r = await cachedGraph(dir, kind, key, build);
      model = file = r.file;
      cacheHit = r.hit;
    } else {
      model = build();
    }
    const { session, provider } = await openSession(model, candidates, settings);
    if (provider !== candidates[0]) logger.warn(`${kind}: running on ${provider} instead of ${candidates[0]}`);
    return { session, provider, file, cacheHit };
  };

  const parts = { image: true, text: true, fusion: true, ...opts.parts };
  const image = parts.image ? await open('image', weights.clip, (k) => k.startsWith('visual.'), {}, () => buildImageGraph(clip, cfg, graphOpts)) : null;
  const text = parts.text ? await open('text', weights.clip, (k) => !k.startsWith('visual.'), {}, () => buildTextGraph(clip, cfg, graphOpts)) : null;
  const fuse = parts.fusion ? await open(`fusion-${head}`, fusionMap, () => true, { head, frames, embedDim: cfg.embedDim, textHeads: cfg.textHeads }, () => buildFusionGraph(head, fusion, cfg, frames, graphOpts)) : null;
  const provider = (image ?? text ?? fuse)?.provider ?? 'cpu';
  logger.info(`onnx engine ready: ${provider}, ${settings.intraOpNumThreads} threads, impl ${impl}, ${floatType}${quant === 'none' ? '' : `, ${quant}`}, head ${head}, T=${frames}`);

  const info: EngineInfo = { engine: 'onnx', backend: provider, clip: cfg, head, frames, joint: false, shift: false };
  const s = cfg.imageResolution;
  const d = cfg.embedDim;

  const run = async (p: Part | null, what: string, feed: Record<string, ort.Tensor>): Promise<Float32Array> => {
    if (p === null) throw new ConfigError(`this engine was created without its ${what} graph (options.parts)`);
    const out = await p.session.run(feed);
    const t = Object.values(out)[0];
    return t.data as Float32Array;
  };
  const check = (what: string, got: number, n: number, per: number): void => {
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${what}: n must be a non-negative integer, got ${n}`);
    if (got !== n * per) throw new ConfigError(`${what}: ${got} values for n=${n} (expected ${n * per})`);
  };

  let disposed = false;
  const engine: OnnxEngine = {
    info,
    details: { impl, floatType, quant, intraOpNumThreads: settings.intraOpNumThreads, allowSpinning: settings.allowSpinning, cacheDir: useCache ? dir : null, files: { image: image?.file, text: text?.file, fusion: fuse?.file }, cacheHits: { image: image?.cacheHit, text: text?.cacheHit, fusion: fuse?.cacheHit } },
    async encodeFrames(pixels, n) {
      check('encodeFrames', pixels.length, n, 3 * s * s);
      if (n === 0) return new Float32Array(0);
      return run(image, 'image', { pixels: new ort.Tensor('float32', pixels, [n, 3, s, s]) });
    },
    async fuse(frameEmbeddings, b) {
      check('fuse', frameEmbeddings.length, b, frames * d);
      if (b === 0) return new Float32Array(0);
      return run(fuse, 'fusion', { frames: new ort.Tensor('float32', frameEmbeddings, [b, frames, d]) });
    },
    async encodeText(tokens, n) {
      check('encodeText', tokens.length, n, cfg.contextLength);
      if (n === 0) return new Float32Array(0);
      return run(text, 'text', { tokens: new ort.Tensor('int32', tokens, [n, cfg.contextLength]) });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const p of [image, text, fuse]) void p?.session.release();
    },
  };
  return engine;
}
