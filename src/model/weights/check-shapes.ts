/** Shape checks shared by the CLIP validation and the temporal heads' specs, worded for users. */
import { WeightsError } from '../../errors.js';
import type { TensorMap } from './tensor-map.js';

export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(',')}]`;
}

/** `key` exists, is float32 and has exactly `expected`; `what` names the part ("CLIP", "LSTM fusion"). */
export function checkShape(w: TensorMap, key: string, expected: readonly number[], file: string, what = 'CLIP'): void {
  const t = w.get(key);
  if (t === undefined) throw new WeightsError(`missing ${what} tensor (the model needs ${formatShape(expected)})`, file, key);
  if (t.dtype !== 'float32') throw new WeightsError(`tensor is ${t.dtype} but the model needs floating-point weights`, file, key);
  if (t.shape.length !== expected.length || t.shape.some((n, i) => n !== expected[i])) {
    throw new WeightsError(`tensor has shape ${formatShape(t.shape)} but the model needs ${formatShape(expected)}`, file, key);
  }
}

/** The tensors of one CLIP ResidualAttentionBlock of `width` under `prefix`, with their shapes. */
export function blockShapes(prefix: string, width: number): [string, number[]][] {
  return [
    [`${prefix}attn.in_proj_weight`, [3 * width, width]],
    [`${prefix}attn.in_proj_bias`, [3 * width]],
    [`${prefix}attn.out_proj.weight`, [width, width]],
    [`${prefix}attn.out_proj.bias`, [width]],
    [`${prefix}ln_1.weight`, [width]],
    [`${prefix}ln_1.bias`, [width]],
    [`${prefix}mlp.c_fc.weight`, [4 * width, width]],
    [`${prefix}mlp.c_fc.bias`, [4 * width]],
    [`${prefix}mlp.c_proj.weight`, [width, 4 * width]],
    [`${prefix}mlp.c_proj.bias`, [width]],
    [`${prefix}ln_2.weight`, [width]],
    [`${prefix}ln_2.bias`, [width]],
  ];
}

/** Number of `prefix<i>.` blocks = highest index + 1, so that a gap shows up as a missing tensor. */
export function countBlocks(w: TensorMap, prefix: string): number {
  let max = -1;
  for (const k of w.keys()) {
    if (!k.startsWith(prefix)) continue;
    const n = Number(k.slice(prefix.length).split('.')[0]);
    if (Number.isInteger(n)) max = Math.max(max, n);
  }
  return max + 1;
}
