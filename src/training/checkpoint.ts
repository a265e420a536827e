/**
 * Training checkpoints as a directory the model loader reads directly:
 *
 *   clip.safetensors            CLIP parameters, OpenAI key names (plus `visual.time_embedding` for Joint)
 *   fusion-<head>.safetensors   the temporal head without `module.`, metadata format/sim_header/T
 *   optimizer.safetensors       AdamW moments `m.<param>` / `v.<param>` by parameter name, metadata step
 *   trainer-state.json          epoch, step, schedule length, metrics history (written last)
 *
 * Every file is written to a temporary name and renamed, trainer-state.json last. A run killed
 * while saving can leave files from two consecutive epochs; the step stored both in the state and
 * in the optimizer file detects that on resume.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { FUSION_PREFIX, type ParamStore } from '../engine/tfjs/network/params.js';
import type { HeadName } from '../model/heads.js';
import { readSafetensors, writeSafetensors } from '../model/weights/safetensors.js';
import type { TensorMap } from '../model/weights/tensor-map.js';
import type { AdamW } from './adamw.js';
import { STATE_FILE, type TrainerState } from './trainer-state.js';
import { atomicWrite } from '../lifecycle/atomic-write.js';

export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const CLIP_FILE = 'clip.safetensors';
export const fusionFileName = (head: HeadName): string => `fusion-${head}.safetensors`;

/** Writes model, optimiser and state into `dir` (which must exist). */
export async function saveCheckpoint(dir: string, params: ParamStore, optimizer: AdamW, state: TrainerState): Promise<void> {
  const clip: TensorMap = new Map();
  for (const [name, t] of await params.toTensorMap('')) if (!name.startsWith(FUSION_PREFIX)) clip.set(name, t);
  await atomicWrite(path.join(dir, CLIP_FILE), (tmp) => writeSafetensors(tmp, clip, { format: 'pt', source: 'actionclip-stream train', epoch: String(state.epoch) }));
  if (state.head !== 'meanP') {
    const fusion = await params.toTensorMap(FUSION_PREFIX);
    await atomicWrite(path.join(dir, fusionFileName(state.head)), (tmp) =>
      writeSafetensors(tmp, fusion, { format: 'actionclip-fusion', sim_header: state.head, T: String(state.frames) }),
    );
  }
  const moments: TensorMap = new Map();
  const opt = await optimizer.getState();
  const byVarName = new Map<string, string>();
  for (const [name, v] of params.entries()) byVarName.set(v.name, name);
  for (const [varName, mv] of opt.moments) {
    // Variable names carry a per-process counter; parameter names are stable across runs.
    const name = byVarName.get(varName);
    if (name === undefined) throw new Error(`optimiser holds moments for ${varName}, which is not a model parameter`);
    moments.set(`m.${name}`, { shape: mv.shape, dtype: 'float32', data: mv.m });
    moments.set(`v.${name}`, { shape: mv.shape, dtype: 'float32', data: mv.v });
  }
  await atomicWrite(path.join(dir, OPTIMIZER_FILE), (tmp) => writeSafetensors(tmp, moments, { step: String(opt.step) }));
  if (opt.step !== state.step) throw new Error(`optimiser step ${opt.step} differs from the trainer's ${state.step}`);
  await atomicWrite(path.join(dir, STATE_FILE), (tmp) => writeFile(tmp, `${JSON.stringify(state, null, 1)}\n`));
}

/** Restores AdamW moments and step from `dir`, mapping parameter names to this process's variables. */
export async function loadOptimizerState(dir: string, params: ParamStore, optimizer: AdamW, expectedStep: number): Promise<void> {
  const file = path.join(dir, OPTIMIZER_FILE);
  const { tensors, metadata } = await readSafetensors(file);
  const step = Number(metadata.step);
  if (step !== expectedStep) {
    throw new ConfigError(`${file} is at step ${metadata.step} but ${STATE_FILE} says ${expectedStep}: the checkpoint was cut off while saving`);
  }
  const moments = new Map<string, { m: Float32Array; v: Float32Array; shape: readonly number[] }>();
  for (const [key, m] of tensors) {
    if (!key.startsWith('m.')) continue;
    const name = key.slice(2);
    const v = tensors.get(`v.${name}`);
    if (v === undefined) throw new ConfigError(`${file}: ${key} has no matching v.${name}`);
    if (!params.has(name)) throw new ConfigError(`${file}: moments for ${name}, which the model does not have (different head or architecture?)`);
    moments.set(params.get(name).name, { m: m.data as Float32Array, v: v.data as Float32Array, shape: m.shape });
  }
  optimizer.setState({ step, moments });
}
