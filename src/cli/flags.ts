import { ConfigError } from '../errors.js';

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
