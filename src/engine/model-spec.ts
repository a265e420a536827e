/**
 * The one place that decides what model gets built: engine, temporal head, frames per video and
 * the image-encoder variants. Both engines receive its answer; neither defaults anything itself.
 */
import { ConfigError, WeightsError } from '../errors.js';
import { headChoices, headDefinition, parseHeadName, type HeadName } from '../heads/registry.js';
import { detectFusionHead, stripModulePrefix } from '../model/weights/key-maps.js';
import type { EngineOptions, EngineWeights } from './engine.js';
import { tfjsGpuUsable } from './gpu.js';

export type EngineKind = 'tfjs' | 'onnx' | 'webgpu';
export type EngineChoice = EngineKind | 'auto';
export const ENGINE_ENV = 'ACTIONCLIP_ENGINE';
const DEFAULT_FRAMES = 8;

export interface ModelSpec {
  readonly engine: EngineKind;
  readonly head: HeadName;
  /** Frames per video T. */
  readonly frames: number;
  readonly joint: boolean;
  readonly shift: boolean;
}

export interface ModelRequest extends Omit<EngineOptions, 'head'> {
  /** A head name in any spelling parseHeadName accepts. */
  readonly head?: string;
  /** tfjs, onnx, webgpu or auto (the default: ACTIONCLIP_ENGINE, else auto). */
  readonly engine?: string;
  /** A tfjs backend asked for by name: with engine auto, that means tfjs. */
  readonly backend?: string;
}

/** What the machine offers, for engine auto; tests pass their own. */
export interface EngineProbe {
  /** ACTIONCLIP_ENGINE, read when the request names no engine. */
  readonly envEngine?: string;
  tfjsGpuUsable(): boolean;
  /**
   * Dawn sees a hardware (not software) WebGPU adapter. Finding out is asynchronous, so loadModel
   * asks first (webgpuProbe in gpu.ts) and passes the answer; absent means no.
   */
  readonly webgpuHardware?: boolean;
}

export function systemProbe(webgpuHardware = false): EngineProbe {
  return { envEngine: process.env[ENGINE_ENV], tfjsGpuUsable, webgpuHardware };
}

/**
 * head = the option, else the weights' head (detected from the fusion tensors), else meanP;
 * frames = the option, else the weights', else 8; joint = the option, else whether the weights
 * carry a time embedding. An unknown name or a bad value is a ConfigError; weights that do not
 * fit the head (none, another head's, another T) are a WeightsError.
 */
export function resolveModelSpec(weights: EngineWeights, request: ModelRequest = {}, probe: EngineProbe = systemProbe()): ModelSpec {
  const head = resolveHead(weights, parseHeadOption(request.head));
  const frames = resolveFrames(weights, head, request.frames);
  const joint = request.joint ?? weights.clip.has('visual.time_embedding');
  const shift = request.shift ?? false;
  if (joint && headDefinition(head).learned) throw new ConfigError('Joint yields one embedding per video; use it with the meanP head');
  // Joint and Shift change the image encoder's graph; only the tfjs network (tfjs and webgpu engines) implements them.
  const needsTfjs = joint || shift || weights.clip.has('visual.time_embedding');
  return { engine: resolveEngine(request, needsTfjs, probe), head, frames, joint, shift };
}

/** A head option in any accepted spelling; undefined stays undefined, an unknown name is a ConfigError. */
export function parseHeadOption(name: string | undefined): HeadName | undefined {
  if (name === undefined) return undefined;
  const head = parseHeadName(name);
  if (head === undefined) throw new ConfigError(`unknown head "${name}"; use ${headChoices()}`);
  return head;
}

const fusionFile = (weights: EngineWeights): string => weights.sources.fusion ?? weights.sources.clip;

/** The head the fusion tensors hold: the loader's verdict, else detected; null when there are none. */
function weightsHead(weights: EngineWeights): HeadName | null {
  if (weights.fusion === null || weights.fusion.size === 0) return weights.head === 'meanP' ? 'meanP' : null;
  return weights.head ?? detectFusionHead(stripModulePrefix(weights.fusion), fusionFile(weights));
}

function resolveHead(weights: EngineWeights, requested: HeadName | undefined): HeadName {
  const held = weightsHead(weights);
  const head = requested ?? held ?? 'meanP';
  // meanP has no weights and ignores any that were loaded.
  if (!headDefinition(head).learned) return head;
  if (held === null || !headDefinition(held).learned) {
    throw new WeightsError(`the ${head} head needs fusion weights, none were loaded (pass fusion: path to a fusion-${head}.safetensors)`, fusionFile(weights));
  }
  if (held !== head) throw new WeightsError(`head ${head} was requested but the fusion weights are a ${held} head`, fusionFile(weights));
  return head;
}

function resolveFrames(weights: EngineWeights, head: HeadName, requested: number | undefined): number {
  const def = headDefinition(head);
  const fixed = def.learned && weights.fusion !== null ? def.framesOf(stripModulePrefix(weights.fusion)) : null;
  const frames = requested ?? weights.frames ?? fixed ?? DEFAULT_FRAMES;
  if (!(Number.isInteger(frames) && frames > 0)) throw new ConfigError(`frames must be a positive integer, got ${frames}`);
  if (fixed !== null && frames !== fixed) throw new WeightsError(`the ${head} head was trained for T=${fixed} frames; ${frames} were requested`, fusionFile(weights));
  return frames;
}

export const ENGINE_NAMES = ['tfjs', 'onnx', 'webgpu', 'auto'] as const;

/** The engine asked for (option, else ACTIONCLIP_ENGINE, else auto), checked. */
export function requestedEngine(request: Pick<ModelRequest, 'engine'>, envEngine: string | undefined = process.env[ENGINE_ENV]): EngineChoice {
  const requested = request.engine ?? envEngine ?? 'auto';
  if (!(ENGINE_NAMES as readonly string[]).includes(requested)) throw new ConfigError(`unknown engine "${requested}"; use ${ENGINE_NAMES.join(', ')}`);
  return requested as EngineChoice;
}

/**
 * auto: a tfjs backend asked for by name means tfjs; then webgpu on a hardware adapter; then tfjs
 * where tfjs-node-gpu sees a CUDA GPU (or for Joint/Shift); else ONNX Runtime.
 */
function resolveEngine(request: ModelRequest, needsTfjs: boolean, probe: EngineProbe): EngineKind {
  const requested = requestedEngine(request, probe.envEngine);
  if (requested === 'onnx' && needsTfjs) throw new ConfigError('the onnx engine builds the plain ViT image encoder; Joint and Shift models need the tfjs or webgpu engine');
  if (requested !== 'auto') return requested;
  if (request.backend !== undefined) return 'tfjs';
  if (probe.webgpuHardware === true) return 'webgpu';
  return needsTfjs || probe.tfjsGpuUsable() ? 'tfjs' : 'onnx';
}
