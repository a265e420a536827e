import * as tf from '@tensorflow/tfjs';
import { ConfigError, EngineError, WeightsError } from '../../errors.js';
import { headDefinition } from '../../heads/registry.js';
import { clipConfigFromWeights, type ClipConfig } from '../../model/clip-config.js';
import { stripModulePrefix } from '../../model/weights/key-maps.js';
import type { Engine, EngineInfo, EngineOptions, EngineWeights } from '../engine.js';
import { resolveModelSpec, type ModelSpec } from '../model-spec.js';
import { selectBackend, type BackendLogger } from './backend.js';
import type { TfjsHead, TfjsHeadKit } from './network/head-kit.js';
import { encodeImage } from './network/image-encoder.js';
import * as layers from './network/layers.js';
import { FUSION_PREFIX, ParamStore } from './network/params.js';
import { encodeText } from './network/text-encoder.js';

/** Rows per forward pass; bounds peak memory (activations of one chunk alive at a time). */
const FRAME_CHUNK = 32;
const FUSE_CHUNK = 256;
const TEXT_CHUNK = 128;

/**
 * Who runs this network: the tfjs engine itself, or an engine that reuses it on a backend it owns
 * (the webgpu engine: `activate` makes its backend current before each call, `release` frees it).
 */
export interface TfjsHost {
  readonly engine: EngineInfo['engine'];
  readonly backend: string;
  readonly precision?: string;
  /** Rows per forward pass, where the host knows better than the defaults (a GPU's buffer limits). */
  readonly chunks?: { readonly frames?: number; readonly text?: number };
  activate?(): Promise<void>;
  release?(): void;
}

export interface TfjsEngineOptions extends EngineOptions {
  /** tfjs backend override ('auto' or absent: best available). */
  readonly backend?: string;
  readonly log?: BackendLogger;
}

/**
 * The model on TensorFlow.js. Parameters are variables (so the same object fine-tunes); every call
 * runs inside tf.tidy and copies its result to the host before disposing.
 */
export class TfjsEngine implements Engine {
  readonly info: EngineInfo;
  private readonly mask: tf.Tensor;
  private readonly head: TfjsHead;
  private readonly headKit: TfjsHeadKit;
  private disposed = false;

  private readonly host: TfjsHost;

  constructor(
    readonly params: ParamStore,
    clip: ClipConfig,
    spec: ModelSpec,
    backend: string | TfjsHost,
  ) {
    this.host = typeof backend === 'string' ? { engine: 'tfjs', backend } : backend;
    const { engine, precision = 'float32' } = this.host;
    this.info = { engine, backend: this.host.backend, clip, head: spec.head, frames: spec.frames, joint: spec.joint, shift: spec.shift, precision };
    this.mask = layers.causalMask(clip.contextLength);
    this.head = headDefinition(spec.head).tfjs;
    const param = (name: string, shape?: readonly (number | undefined)[]): tf.Tensor => params.get(FUSION_PREFIX + name, shape);
    this.headKit = { tf, nn: layers, param, params, prefix: FUSION_PREFIX, clip };
  }

  /** Differentiable image path for training: `[n,3,S,S]` -> `[n,D]` (Joint: `[n/T,D]`). */
  imageForward(pixels: tf.Tensor): tf.Tensor {
    const { clip, frames, joint, shift } = this.info;
    return encodeImage(pixels, this.params, clip, { frames, joint, shift });
  }

  /** Differentiable fusion: `[b,T,D]` -> `[b,D]`. */
  fuseForward(x: tf.Tensor): tf.Tensor {
    return this.head(x, this.headKit);
  }

  /** Differentiable text path: `[n,L]` int32 -> `[n,D]`. */
  textForward(tokens: tf.Tensor): tf.Tensor {
    return encodeText(tokens, this.params, this.info.clip, this.mask);
  }

  /** Differentiable video path: b·T frames -> `[b,D]` (Joint already yields one embedding per video). */
  videoForward(pixels: tf.Tensor, b: number): tf.Tensor {
    const e = this.imageForward(pixels);
    if (this.info.joint) return e;
    return this.fuseForward(e.reshape([b, this.info.frames, -1]));
  }

  get logitScale(): tf.Variable {
    return this.params.get('logit_scale');
  }

  async encodeFrames(pixels: Float32Array, n: number): Promise<Float32Array> {
    const { imageResolution: s } = this.info.clip;
    const per = 3 * s * s;
    this.check(pixels.length === n * per, `encodeFrames: expected ${n}×3×${s}×${s} = ${n * per} values, got ${pixels.length}`);
    const videoLevel = this.info.joint || this.info.shift;
    if (videoLevel) this.check(n % this.info.frames === 0, `encodeFrames: with Joint/Shift, n (${n}) must be a multiple of T (${this.info.frames})`);
    // Joint/Shift mix the frames of a video: chunk by whole videos.
    const unit = videoLevel ? this.info.frames : 1;
    return this.chunked(n, unit, this.host.chunks?.frames ?? FRAME_CHUNK, this.info.joint ? this.info.clip.embedDim / unit : this.info.clip.embedDim, (i, m) =>
      this.imageForward(tf.tensor4d(pixels.subarray(i * per, (i + m) * per), [m, 3, s, s])),
    );
  }

  async fuse(frameEmbeddings: Float32Array, b: number): Promise<Float32Array> {
    const { frames: t, clip } = this.info;
    const per = t * clip.embedDim;
    this.check(frameEmbeddings.length === b * per, `fuse: expected ${b}×${t}×${clip.embedDim} values, got ${frameEmbeddings.length}`);
    return this.chunked(b, 1, FUSE_CHUNK, clip.embedDim, (i, m) => this.fuseForward(tf.tensor3d(frameEmbeddings.subarray(i * per, (i + m) * per), [m, t, clip.embedDim])));
  }

  /** b videos to `[b,D]` in one forward pass per chunk: the frame embeddings stay on the backend. */
  async encodeVideos(pixels: Float32Array, b: number): Promise<Float32Array> {
    const { imageResolution: s, embedDim } = this.info.clip;
    const t = this.info.frames;
    const per = t * 3 * s * s;
    this.check(pixels.length === b * per, `encodeVideos: expected ${b}×${t}×3×${s}×${s} = ${b * per} values, got ${pixels.length}`);
    const videos = Math.max(1, Math.floor((this.host.chunks?.frames ?? FRAME_CHUNK) / t));
    return this.chunked(b, 1, videos, embedDim, (i, m) => this.videoForward(tf.tensor4d(pixels.subarray(i * per, (i + m) * per), [m * t, 3, s, s]), m));
  }

  async encodeText(tokens: Int32Array, n: number): Promise<Float32Array> {
    const l = this.info.clip.contextLength;
    this.check(tokens.length === n * l, `encodeText: expected ${n}×${l} token ids, got ${tokens.length}`);
    return this.chunked(n, 1, this.host.chunks?.text ?? TEXT_CHUNK, this.info.clip.embedDim, (i, m) => this.textForward(tf.tensor2d(tokens.subarray(i * l, (i + m) * l), [m, l], 'int32')));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.mask.dispose();
    this.params.dispose();
    this.host.release?.();
  }

  /** Refuses calls after dispose (a bug in the caller) and inputs of the wrong size (like the onnx engine). */
  private check(cond: boolean, message: string): void {
    if (this.disposed) throw new EngineError('the model was disposed', false);
    if (!cond) throw new ConfigError(message);
  }

  /**
   * Runs `forward` over rows [i, i+m) in chunks of at most `chunk` rows (a multiple of `unit`), so a
   * large vocabulary or batch never holds all its activations at once (wasm memory is 4 GiB at most).
   */
  private async chunked(rows: number, unit: number, chunk: number, outPerRow: number, forward: (i: number, m: number) => tf.Tensor): Promise<Float32Array> {
    const step = Math.max(unit, Math.floor(chunk / unit) * unit);
    if (rows <= step) return this.run(() => forward(0, rows));
    const out = new Float32Array(rows * outPerRow);
    for (let i = 0; i < rows; i += step) {
      const m = Math.min(step, rows - i);
      out.set(await this.run(() => forward(i, m)), i * outPerRow);
    }
    return out;
  }

  private async run(fn: () => tf.Tensor): Promise<Float32Array> {
    await this.host.activate?.();
    const out = tf.tidy(fn);
    try {
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  }
}

/** Builds the tfjs engine from loaded weights, deciding head, T and variants with resolveModelSpec. */
export async function createTfjsEngine(weights: EngineWeights, opts: TfjsEngineOptions = {}): Promise<TfjsEngine> {
  return buildTfjsEngine(weights, resolveModelSpec(weights, { ...opts, engine: 'tfjs' }), opts);
}

/** The tfjs engine for an already decided spec: chooses the backend, uploads parameters, checks shapes. */
export async function buildTfjsEngine(weights: EngineWeights, spec: ModelSpec, opts: Pick<TfjsEngineOptions, 'backend' | 'log'> = {}): Promise<TfjsEngine> {
  if (spec.engine !== 'tfjs') throw new ConfigError(`this model was specified for the ${spec.engine} engine`);
  const selection = await selectBackend(opts.backend, opts.log);
  // Another engine in the process (webgpu) may make its backend current; each call takes this one back.
  const activate = async (): Promise<void> => {
    if (tf.getBackend() !== selection.tfBackend) await tf.setBackend(selection.tfBackend);
  };
  return assembleTfjsEngine(weights, spec, { engine: 'tfjs', backend: selection.choice, activate });
}

/** Uploads the parameters to the active backend and checks every path's shapes with a tiny forward pass. */
export function assembleTfjsEngine(weights: EngineWeights, spec: ModelSpec, host: string | TfjsHost): TfjsEngine {
  const clip = clipConfigFromWeights(weights.clip, weights.sources.clip);
  const params = new ParamStore(weights.sources.clip);
  try {
    params.addAll(weights.clip);
    if (spec.joint && !params.has('visual.time_embedding')) {
      // A new module, as ActionCLIP initialises it before fine-tuning.
      params.add('visual.time_embedding', [spec.frames, clip.visionWidth], new Float32Array(spec.frames * clip.visionWidth));
    }
    if (weights.fusion !== null && headDefinition(spec.head).learned) params.addAll(stripModulePrefix(weights.fusion), FUSION_PREFIX);
    const engine = new TfjsEngine(params, clip, spec, host);
    validateShapes(engine, weights);
    return engine;
  } catch (err) {
    params.dispose();
    throw err;
  }
}

/** One tiny forward pass per path so that any shape mismatch surfaces now, with file and key. */
function validateShapes(engine: TfjsEngine, weights: EngineWeights): void {
  const { clip, frames, head } = engine.info;
  const s = clip.imageResolution;
  try {
    tf.tidy(() => {
      const n = engine.info.joint || engine.info.shift ? frames : 1;
      engine.imageForward(tf.zeros([n, 3, s, s]));
      engine.textForward(tf.zeros([1, clip.contextLength], 'int32'));
      if (headDefinition(head).learned) engine.fuseForward(tf.zeros([1, frames, clip.embedDim]));
    });
  } catch (err) {
    if (err instanceof WeightsError) throw err;
    throw new WeightsError(`weights do not fit the model: ${err instanceof Error ? err.message : String(err)}`, weights.sources.fusion ?? weights.sources.clip, undefined, { cause: err });
  }
}
