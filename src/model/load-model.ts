import { ConfigError } from '../errors.js';
import type { Engine, EngineOptions, EngineWeights } from '../engine/engine.js';
import { createRequire } from 'node:module';
import { cudaGpuVisible } from '../engine/tfjs/backend.js';
import { ActionClipModel } from './action-clip-model.js';
import { parseHeadName, type HeadName } from './heads.js';
import { loadWeights } from './weights/load-weights.js';

export type EngineChoice = 'tfjs' | 'onnx' | 'auto';

export interface LoadModelOptions {
  /** A `.safetensors` file (OpenAI or Hugging Face layout), a directory holding one, or an ActionCLIP `.pt` checkpoint. */
  readonly weights: string;
  /** A fusion head `.safetensors` (with or without the `module.` prefix). */
  readonly fusion?: string;
  /** Temporal head: meanP, Conv_1D, LSTM, Transf, Transf_cls (paper spellings accepted). */
  readonly head?: HeadName | string;
  /** Frames per video T. */
  readonly frames?: number;
  /** tfjs backend: tensorflow-gpu, tensorflow, wasm, cpu or auto (ACTIONCLIP_BACKEND also overrides). */
  readonly backend?: string;
  /** Compute engine; auto = tfjs when tfjs-node-gpu sees a GPU, else ONNX Runtime. */
  readonly engine?: EngineChoice;
  readonly joint?: boolean;
  readonly shift?: boolean;
  /** Engine-specific settings (for example ONNX execution provider and threads). */
  readonly engineOptions?: Record<string, unknown>;
}

export const ENGINE_ENV = 'ACTIONCLIP_ENGINE';

const require = createRequire(import.meta.url);

/** tfjs-node-gpu is installed (its optional install succeeded) and a CUDA GPU is visible. */
function tfjsGpuUsable(): boolean {
  if (!cudaGpuVisible()) return false;
  try {
    require.resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
}

/** Loads weights and builds the model on the chosen engine. */
export async function loadModel(opts: LoadModelOptions): Promise<ActionClipModel> {
  let head: HeadName | undefined;
  if (opts.head !== undefined) {
    head = parseHeadName(opts.head);
    if (head === undefined) throw new ConfigError(`unknown head "${opts.head}"; use meanP, Conv_1D, LSTM, Transf or Transf_cls`);
  }
  const weights = await loadWeights(opts.weights, { fusion: opts.fusion });
  const engine = await createEngine(weights, { head, frames: opts.frames, joint: opts.joint, shift: opts.shift }, opts);
  return new ActionClipModel(engine);
}

async function createEngine(weights: EngineWeights, engineOpts: EngineOptions, opts: LoadModelOptions): Promise<Engine> {
  const requested = opts.engine ?? (process.env[ENGINE_ENV] as EngineChoice | undefined) ?? 'auto';
  if (!['tfjs', 'onnx', 'auto'].includes(requested)) throw new ConfigError(`unknown engine "${requested}"; use tfjs, onnx or auto`);
  // Joint and Shift change the image encoder's graph; only the tfjs engine implements them.
  const needsTfjs = engineOpts.joint === true || engineOpts.shift === true || weights.clip.has('visual.time_embedding');
  const useTfjs = requested === 'tfjs' || (requested === 'auto' && (needsTfjs || tfjsGpuUsable() || opts.backend !== undefined));
  if (useTfjs) {
    const { createTfjsEngine } = await import('../engine/tfjs/tfjs-engine.js');
    return createTfjsEngine(weights, { ...engineOpts, backend: opts.backend });
  }
  const { createOnnxEngine } = await import('../engine/onnx/index.js');
  return createOnnxEngine(weights, { ...engineOpts, ...(opts.engineOptions ?? {}) });
}
