/**
 * Every temporal head ActionCLIP defines (`visual_prompt.sim_header`). Adding one: a folder
 * `src/heads/<name>/` whose index.ts exports a HeadDefinition, and one entry in HEADS.
 */
import { conv1d } from './conv1d/index.js';
import { lstm } from './lstm/index.js';
import { meanP } from './meanp/index.js';
import { transfCls } from './transf-cls/index.js';
import { transf } from './transf/index.js';
import type { HeadDefinition } from './types.js';

export const HEADS = [meanP, conv1d, lstm, transf, transfCls] as const;

export type HeadName = (typeof HEADS)[number]['name'];

export const HEAD_NAMES: readonly HeadName[] = HEADS.map((h) => h.name);

const normalize = (name: string): string => name.toLowerCase().replace(/[^a-z]/g, '');

/** Accepts the paper's spellings too (MeanP, Conv1D, Transf-cls...). */
export function parseHeadName(name: string): HeadName | undefined {
  const norm = normalize(name);
  return HEADS.find((h) => normalize(h.name) === norm || h.aliases.includes(norm))?.name;
}

export function headDefinition(name: HeadName): HeadDefinition<HeadName> {
  const head = HEADS.find((h) => h.name === name);
  if (head === undefined) throw new Error(`no head ${name} in the registry`);
  return head;
}

/** The head whose submodules a (non-empty) fusion state dict holds, if any. */
export function headOwning(keys: readonly string[]): HeadName | undefined {
  return HEADS.find((h) => h.owns(keys))?.name;
}

/** "meanP, Conv_1D, ... or Transf_cls", for messages that list the choices. */
export function headChoices(): string {
  return `${HEAD_NAMES.slice(0, -1).join(', ')} or ${HEAD_NAMES[HEAD_NAMES.length - 1]}`;
}
