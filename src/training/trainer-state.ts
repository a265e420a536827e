/**
 * `trainer-state.json` of a training output folder (see checkpoint.ts), readable without tfjs: the
 * model loader reads the templates a checkpoint was trained with from it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { HeadName } from '../model/heads.js';

export const STATE_FILE = 'trainer-state.json';

export interface TrainerState {
  version: 1;
  /** Epochs completed. */
  epoch: number;
  /** Optimiser steps taken. */
  step: number;
  totalSteps: number;
  stepsPerEpoch: number;
  head: HeadName;
  frames: number;
  seed: number;
  /** The prompt templates trained with: `loadModel` (so `classify`, `run`) and `eval` default to them, `train --resume` keeps them. */
  templates?: string[];
  /** Per-epoch metrics so far (also in metrics.jsonl). */
  history: unknown[];
}

export async function readTrainerState(dir: string): Promise<TrainerState> {
  const file = path.join(dir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot resume: ${file} is missing (${(err as NodeJS.ErrnoException).code ?? String(err)}); is ${dir} a training output folder?`, { cause: err });
  }
  return parseTrainerState(text, file);
}

/**
 * The templates a training output folder was trained with, or undefined when `weights` is not
 * such a folder (a weights file, or a folder without a trainer state) or the state predates them.
 * A state file that is there but unreadable is an error, not a silent fall-back to other templates.
 */
export async function checkpointTemplates(weights: string): Promise<string[] | undefined> {
  const file = path.join(weights, STATE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  return parseTrainerState(text, file).templates;
}

function parseTrainerState(text: string, file: string): TrainerState {
  let s: TrainerState;
  try {
    s = JSON.parse(text) as TrainerState;
  } catch (err) {
    throw new ConfigError(`${file}: not JSON (${(err as Error).message})`, { cause: err });
  }
  if (s === null || typeof s !== 'object' || s.version !== 1 || !Number.isInteger(s.step) || !Number.isInteger(s.epoch)) {
    throw new ConfigError(`${file}: not a trainer state (version ${String(s?.version)})`);
  }
  const t = s.templates;
  if (t !== undefined && !(Array.isArray(t) && t.length > 0 && t.every((x) => typeof x === 'string'))) {
    throw new ConfigError(`${file}: templates must be a non-empty list of strings`);
  }
  return s;
}


/**
 * The templates a resumed run goes on with: the checkpoint's. A configuration that names others
 * is a ConfigError naming both (the text side would be trained towards other prompts); one that
 * names none takes the checkpoint's.
 */
export function resumedTemplates(state: TrainerState, configured: readonly string[] | undefined, dir: string): readonly string[] | undefined {
  const saved = state.templates;
  if (saved === undefined || configured === undefined) return configured ?? saved;
  if (JSON.stringify(saved) !== JSON.stringify(configured)) {
    throw new ConfigError(`cannot resume: the checkpoint in ${dir} was trained with the templates ${JSON.stringify(saved)}, the configuration gives ${JSON.stringify(configured)}`);
  }
  return saved;
}
