/**
 * The webgpu engine: the tfjs engine's network (image encoder, text encoder, every temporal head,
 * Joint and Shift) on tfjs's WebGPU backend, on a Dawn device. Weights are uploaded once, as GPU
 * buffers that live until dispose(); each call runs its whole forward pass on the GPU and reads
 * back only its output.
 */
import { ConfigError } from '../../errors.js';
import type { EngineOptions, EngineWeights } from '../engine.js';
import { resolveModelSpec, type ModelSpec } from '../model-spec.js';
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
    const engine = assembleTfjsEngine(weights, spec, { engine: 'webgpu', backend, precision: 'float32', activate: lease.activate, release: lease.release });
    return Object.assign(engine, { gpu: { ...lease.device, liveBuffers: lease.liveBuffers } });
  } catch (err) {
    lease.release();
    throw err;
  }
}
