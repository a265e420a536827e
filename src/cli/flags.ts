import { ConfigError } from '../errors.js';
import { headChoices } from '../heads/registry.js';

/** A numeric flag, or undefined when absent; a clear error naming the flag otherwise. */
export function numberFlag(value: string | undefined, flag: string, opts: { integer?: boolean; positive?: boolean } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const ok = Number.isFinite(n) && (!opts.integer || Number.isInteger(n)) && (!opts.positive || n > 0);
  if (!ok) throw new ConfigError(`${flag} must be a ${opts.positive ? 'positive ' : ''}${opts.integer ? 'integer' : 'number'}, got "${value}"`);
  return n;
}

export function positiveIntFlag(value: string | undefined, flag: string): number | undefined {
  return numberFlag(value, flag, { integer: true, positive: true });
}

/** `--head` help: the registry's heads, then ActionCLIP's two image-encoder variants. */
export const HEAD_HELP = `temporal head: ${headChoices()}; or Joint / Shift, ActionCLIP's image-encoder variants (frames meet inside the encoder; tfjs engine)`;

/**
 * A `--head` value as loadModel's options. Joint and Shift are variants of the image encoder, not
 * fusion heads (ActionCLIP's `joint` and `tsm` switches), so they set those switches and leave the
 * head to the checkpoint (meanP without one).
 */
export function headFlag(value: string | undefined): { head?: string; joint?: true; shift?: true } {
  const v = value?.trim().toLowerCase();
  if (v === 'joint') return { joint: true };
  if (v === 'shift') return { shift: true };
  return value === undefined ? {} : { head: value };
}
