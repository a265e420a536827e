/**
 * The webgpu engine: the tfjs engine's network (image encoder, text encoder, every temporal head,
 * Joint and Shift) on tfjs's WebGPU backend, on a Dawn device. Weights are uploaded once, as GPU
 * buffers that live until dispose(); each call runs its whole forward pass on the GPU and reads
 * back only its output.
 */
import { ConfigError } from '../../errors.js';
import { clipConfigFromWeights } from '../../model/clip-config.js';
import type { EngineOptions, EngineWeights } from '../engine.js';
import { resolveModelSpec, type ModelSpec } from '../model-spec.js';
import * as tf from '@tensorflow/tfjs';
import { transposedWeights } from '../tfjs/network/layers.js';
import { assembleTfjsEngine, type TfjsEngine } from '../tfjs/tfjs-engine.js';
import { WEBGPU_BACKEND, acquireWebGpu, type WebGpuDeviceInfo } from './backend.js';
import { allowSoftwareFromEnv } from './dawn.js';

export interface WebGpuEngineOptions extends EngineOptions {
  /**
   * Run on a software adapter (lavapipe) when no GPU is there. Default: ACTIONCLIP_WEBGPU_ALLOW_SOFTWARE;
   * without it a software-only machine is a WebGpuUnavailableError.
   */
  readonly allowSoftware?: boolean;
  /** 'float32' only: tfjs's WebGPU backend has no float16 tensors (see docs/webgpu-engine.md). */
  readonly precision?: 'float32' | 'float16';
}

/** The engine plus what it runs on; `liveBuffers` is for leak checks. */
export interface WebGpuEngine extends TfjsEngine {
  readonly gpu: WebGpuDeviceInfo & { liveBuffers(): number };
}

/** Builds the webgpu engine from loaded weights, deciding head, T and variants with resolveModelSpec. */
export async function createWebGpuEngine(weights: EngineWeights, opts: WebGpuEngineOptions = {}): Promise<WebGpuEngine> {
  return buildWebGpuEngine(weights, resolveModelSpec(weights, { ...opts, engine: 'webgpu' }), opts);
}

/** The webgpu engine for an already decided spec. */
export async function buildWebGpuEngine(weights: EngineWeights, spec: ModelSpec, opts: Pick<WebGpuEngineOptions, 'allowSoftware' | 'precision'> = {}): Promise<WebGpuEngine> {
  if (spec.engine !== 'webgpu') throw new ConfigError(`this model was specified for the ${spec.engine} engine`);
  if (opts.precision !== undefined && opts.precision !== 'float32') {
    throw new ConfigError(`webgpu engine: precision ${opts.precision} is not implemented (tfjs's WebGPU backend computes in float32); use float32`);
  }
  const lease = await acquireWebGpu({ allowSoftware: opts.allowSoftware ?? allowSoftwareFromEnv() });
  try {
    await lease.activate();
    const backend = `${WEBGPU_BACKEND} (${lease.device.software ? 'software: ' : ''}${lease.device.adapter})`;
    const perFrame = chunkSizes(weights, lease.device.maxBindingBytes);
    // Joint attends all T·N tokens of a video at once: T times the attention of T separate frames.
    const chunks = spec.joint ? { ...perFrame, frames: Math.max(1, Math.floor(perFrame.frames / spec.frames)) } : perFrame;
    const owned: tf.Tensor[] = [];
    const release = (): void => {
      tf.dispose(owned);
      lease.release();
    };
    const engine = assembleTfjsEngine(weights, spec, { engine: 'webgpu', backend, precision: 'float32', chunks, activate: lease.activate, release });
    owned.push(...pretransposeLinearWeights(engine));
    return Object.assign(engine, { gpu: { ...lease.device, liveBuffers: lease.liveBuffers } });
  } catch (err) {
    lease.release();
    throw err;
  }
}

/** The [out, in] weights that go through linear(): attention projections, MLPs, the heads' linear layers. */
const LINEAR_WEIGHT = /(in_proj_weight|out_proj\.weight|c_fc\.weight|c_proj\.weight|linear[12]\.weight|weight_ih_l0)$/;

/** Transposed copies of the linear weights, made once on the GPU (see transposedWeights); the engine frees them. */
function pretransposeLinearWeights(engine: TfjsEngine): tf.Tensor[] {
  const made: tf.Tensor[] = [];
  for (const [name, w] of engine.params.entries()) {
    if (w.rank !== 2 || !LINEAR_WEIGHT.test(name)) continue;
    const t = tf.transpose(w);
    transposedWeights.set(w, t);
    made.push(t);
  }
  return made;
}

/** The most rows per call; more gains little on a GPU and holds more activations. */
const MAX_CHUNK = 256;

/**
 * Rows per forward pass such that the largest activation of one pass (the attention scores
 * [rows·heads, L, L] or the MLP's [rows·L, 4W]) fits the device's largest buffer binding.
 */
export function chunkSizes(weights: EngineWeights, maxBindingBytes: number): { frames: number; text: number } {
  const c = clipConfigFromWeights(weights.clip, weights.sources.clip);
  const tokens = (c.imageResolution / c.patchSize) ** 2 + 1;
  const perRow = (l: number, heads: number, width: number): number => 4 * Math.max(heads * l * l, l * 4 * width);
  const fit = (bytes: number): number => Math.max(1, Math.min(MAX_CHUNK, Math.floor(maxBindingBytes / bytes)));
  return { frames: fit(perRow(tokens, c.visionHeads, c.visionWidth)), text: fit(perRow(c.contextLength, c.textHeads, c.textWidth)) };
}
