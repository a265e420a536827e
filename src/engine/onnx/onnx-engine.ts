/**
 * The ONNX Runtime engine: ONNX graphs of the CLIP encoders and the temporal head are built in
 * TypeScript from the loaded weights, cached on disk, and run by onnxruntime-node.
 */
import * as ort from 'onnxruntime-node';
import { ConfigError, EngineError } from '../../errors.js';
import { type ClipConfig, clipConfigFromWeights } from '../../model/clip-config.js';
import { stripModulePrefix } from '../../model/weights/key-maps.js';
import type { TensorMap } from '../../model/weights/tensor-map.js';
import type { Engine, EngineInfo, EngineOptions, EngineWeights } from '../engine.js';
import { resolveModelSpec, type ModelSpec } from '../model-spec.js';
import { cachedGraph, defaultCacheDir, graphKey } from './cache.js';
import { buildImageGraph, buildTextGraph, type GraphOptions } from './clip-graphs.js';
import { buildFusionGraph } from './fusion-graphs.js';
import type { FloatType } from './graph.js';
import type { BlockImpl, Quantization } from './layers.js';
import { WeightSource } from './weight-source.js';
import {
  type GraphOptimizationLevel,
  type OnnxLogger,
  type ProviderName,
  type ProviderRequest,
  type SessionSettings,
  consoleLogger,
  defaultThreads,
  openSession,
  providerCandidates,
} from './session.js';

/** Engine settings; head and T are decided by resolveModelSpec, and Joint/Shift are refused (the tfjs engine builds them). */
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
  /** Default `$ACTIONCLIP_HOME/onnx` (see actionclipHome), `~/.cache/actionclip-stream/onnx`. */
  cacheDir?: string;
  /** Build only some of the three graphs (benchmarks); the others throw when called. */
  parts?: { image?: boolean; text?: boolean; fusion?: boolean };
  logger?: OnnxLogger;
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

/** One graph's session. */
interface Part {
  session: ort.InferenceSession;
  provider: ProviderName;
  file: string | null;
  cacheHit: boolean;
}

/** Everything about the sessions that does not depend on the weights. */
interface Setup {
  readonly graphOpts: GraphOptions;
  readonly candidates: ProviderName[];
  readonly settings: SessionSettings;
  /** null: graphs are built in memory every time. */
  readonly cacheDir: string | null;
}

/** Builds the ONNX engine from loaded weights, deciding head and T with resolveModelSpec. */
export async function createOnnxEngine(weights: EngineWeights, opts: OnnxEngineOptions = {}): Promise<OnnxEngine> {
  return buildOnnxEngine(weights, resolveModelSpec(weights, { ...opts, engine: 'onnx' }), opts);
}

function sessionSetup(opts: OnnxEngineOptions): Setup {
  const logger = opts.logger ?? consoleLogger;
  const candidates = providerCandidates(opts.provider ?? 'cpu', logger);
  let floatType: FloatType = 'float32';
  if (opts.fp16) {
    if (candidates[0] === 'cpu') logger.warn('fp16 requested but the provider is cpu (ONNX Runtime has few fp16 CPU kernels): running fp32');
    else floatType = 'float16';
  }
  const quant: Quantization = opts.quantize ?? 'none';
  if (quant === 'int8' && floatType === 'float16') throw new ConfigError('quantize int8 and fp16 are exclusive: pick one');
  const settings: SessionSettings = {
    provider: opts.provider ?? 'cpu',
    deviceId: opts.deviceId ?? 0,
    intraOpNumThreads: opts.intraOpNumThreads ?? defaultThreads(),
    interOpNumThreads: opts.interOpNumThreads ?? 1,
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
    allowSpinning: opts.allowSpinning ?? false,
    logger,
  };
  const cacheDir = (opts.cache ?? true) ? (opts.cacheDir ?? defaultCacheDir()) : null;
  return { graphOpts: { impl: opts.impl ?? 'fused', floatType, quant }, candidates, settings, cacheDir };
}

/** A session for one graph, from the disk cache when its key (weights and options) is there. */
async function openPart(s: Setup, kind: string, tensors: TensorMap | null, select: (k: string) => boolean, extra: Record<string, unknown>, build: () => Uint8Array): Promise<Part> {
  let model: string | Uint8Array;
  let file: string | null = null;
  let cacheHit = false;
  if (s.cacheDir !== null) {
    const r = await cachedGraph(s.cacheDir, kind, graphKey(kind, { ...s.graphOpts, ...extra }, tensors, select), build);
    model = file = r.file;
    cacheHit = r.hit;
  } else {
    model = build();
  }
  const { session, provider } = await openSession(model, s.candidates, s.settings);
  if (provider !== s.candidates[0]) s.settings.logger.warn(`${kind}: running on ${provider} instead of ${s.candidates[0]}`);
  return { session, provider, file, cacheHit };
}

/** The ONNX engine for an already decided spec. */
export async function buildOnnxEngine(weights: EngineWeights, spec: ModelSpec, opts: OnnxEngineOptions = {}): Promise<OnnxEngine> {
  if (spec.engine !== 'onnx') throw new ConfigError(`this model was specified for the ${spec.engine} engine`);
  const s = sessionSetup(opts);
  const cfg: ClipConfig = clipConfigFromWeights(weights.clip);
  const clip = new WeightSource(weights.clip, '<clip weights>');
  const fusionMap = weights.fusion === null ? null : stripModulePrefix(weights.fusion);
  const fusion = fusionMap === null ? null : new WeightSource(fusionMap, '<fusion weights>');
  const { head, frames } = spec;
  const want = { image: true, text: true, fusion: true, ...opts.parts };
  const fusionKey = { head, frames, embedDim: cfg.embedDim, textHeads: cfg.textHeads };
  const parts = {
    image: want.image ? await openPart(s, 'image', weights.clip, (k) => k.startsWith('visual.'), {}, () => buildImageGraph(clip, cfg, s.graphOpts)) : null,
    text: want.text ? await openPart(s, 'text', weights.clip, (k) => !k.startsWith('visual.'), {}, () => buildTextGraph(clip, cfg, s.graphOpts)) : null,
    fusion: want.fusion ? await openPart(s, `fusion-${head}`, fusionMap, () => true, fusionKey, () => buildFusionGraph(head, fusion, cfg, frames, s.graphOpts)) : null,
  };
  const provider = (parts.image ?? parts.text ?? parts.fusion)?.provider ?? 'cpu';
  const { impl, floatType, quant } = s.graphOpts;
  s.settings.logger.info(`onnx engine ready: ${provider}, ${s.settings.intraOpNumThreads} threads, impl ${impl}, ${floatType}${quant === 'none' ? '' : `, ${quant}`}, head ${head}, T=${frames}`);
  const precision = `${floatType}${quant === 'none' ? '' : `-${quant}`}-${impl}`;
  const info: EngineInfo = { engine: 'onnx', backend: provider, clip: cfg, head, frames, joint: false, shift: false, precision };
  const details: OnnxEngine['details'] = {
    impl,
    floatType,
    quant,
    intraOpNumThreads: s.settings.intraOpNumThreads,
    allowSpinning: s.settings.allowSpinning,
    cacheDir: s.cacheDir,
    files: { image: parts.image?.file, text: parts.text?.file, fusion: parts.fusion?.file },
    cacheHits: { image: parts.image?.cacheHit, text: parts.text?.cacheHit, fusion: parts.fusion?.cacheHit },
  };
  return sessionEngine(info, details, parts);
}

/** The Engine calls over the opened sessions: inputs checked (ConfigError), outputs checked (EngineError). */
function sessionEngine(info: EngineInfo, details: OnnxEngine['details'], parts: Record<'image' | 'text' | 'fusion', Part | null>): OnnxEngine {
  const { imageResolution: s, embedDim: d, contextLength } = info.clip;
  const check = (what: string, got: number, n: number, per: number): void => {
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${what}: n must be a non-negative integer, got ${n}`);
    if (got !== n * per) throw new ConfigError(`${what}: ${got} values for n=${n} (expected ${n * per})`);
  };
  const run = async (what: 'image' | 'text' | 'fusion', n: number, feed: Record<string, ort.Tensor>): Promise<Float32Array> => {
    const p = parts[what];
    if (p === null) throw new ConfigError(`this engine was created without its ${what} graph (options.parts)`);
    const out = Object.values(await p.session.run(feed))[0].data as Float32Array;
    if (out.length !== n * d) throw new EngineError(`the ${what} graph returned ${out.length} values for n=${n} (expected ${n * d})`, false);
    return out;
  };
  let disposed = false;
  return {
    info,
    details,
    async encodeFrames(pixels, n) {
      check('encodeFrames', pixels.length, n, 3 * s * s);
      if (n === 0) return new Float32Array(0);
      return run('image', n, { pixels: new ort.Tensor('float32', pixels, [n, 3, s, s]) });
    },
    async fuse(frameEmbeddings, b) {
      check('fuse', frameEmbeddings.length, b, info.frames * d);
      if (b === 0) return new Float32Array(0);
      return run('fusion', b, { frames: new ort.Tensor('float32', frameEmbeddings, [b, info.frames, d]) });
    },
    async encodeText(tokens, n) {
      check('encodeText', tokens.length, n, contextLength);
      if (n === 0) return new Float32Array(0);
      return run('text', n, { tokens: new ort.Tensor('int32', tokens, [n, contextLength]) });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const p of Object.values(parts)) void p?.session.release();
    },
  };
}
