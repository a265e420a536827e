import type { Command } from 'commander';
import { loadTextCacheConfig, textCacheOptions } from '../../config/load.js';
import { QuantizeSchema } from '../../config/schema.js';
import type { TextCacheOptions } from '../model/text-cache/text-embedding-cache.js';
import { ConfigError } from '../errors.js';
import { headChoices } from '../heads/registry.js';
import type { Quantize } from '../engine/load-model.js';

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

/** The text cache flags of the commands that load a model. */
export interface TextCacheFlags {
  /** false with `--no-text-cache`. */
  textCache?: boolean;
  textCacheDir?: string;
  textCacheMaxMb?: string;
}

export function addTextCacheOptions(command: Command): Command {
  return command
    .option('--no-text-cache', 'encode every prompt, keep no text embeddings on disk')
    .option('--text-cache-dir <path>', 'where text embeddings are kept (default: $ACTIONCLIP_HOME/text-embeddings, ~/.cache/actionclip-stream/text-embeddings)')
    .option('--text-cache-max-mb <n>', 'size bound of the text-embedding cache in MiB; least recently used entries go first (default 256)');
}

/** The flags given, shaped like the config's `textCache` section (undefined when none was given). */
export function textCacheFlagsToConfig(f: TextCacheFlags): Record<string, unknown> | undefined {
  const c = { enabled: f.textCache === false ? false : undefined, dir: f.textCacheDir, maxMB: numberFlag(f.textCacheMaxMb, '--text-cache-max-mb', { positive: true }) };
  return Object.values(c).some((v) => v !== undefined) ? c : undefined;
}

/** loadModel's textCache option from the flags alone (commands without a service config file). */
export function textCacheFromFlags(f: TextCacheFlags): TextCacheOptions | false {
  return textCacheOptions(loadTextCacheConfig(textCacheFlagsToConfig(f)));
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

/** `--quantize none|int8`, named in the error when it is anything else. */
export function quantizeFlag(value: string | undefined): Quantize | undefined {
  if (value === undefined) return undefined;
  const parsed = QuantizeSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(`--quantize must be ${QuantizeSchema.options.join(' or ')}, got ${JSON.stringify(value)}`);
  return parsed.data;
}

/** The flags of the commands that serve the HTTP API and /ws (`run`, `gateway`). */
export interface ServerFlags {
  port?: string;
  host?: string;
  tokensFile?: string;
  insecureNoAuth?: boolean;
  allowedOrigin?: string[];
  tlsCert?: string;
  tlsKey?: string;
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

export function addServerOptions(command: Command): Command {
  return command
    .option('--port <n>', 'HTTP API / WebSocket port (0 = any free port)')
    .option('--host <addr>', 'HTTP bind address (default 127.0.0.1 without tokens, 0.0.0.0 with them)')
    .option('--tokens-file <file>', 'API tokens (lines "sha256:<hex> <role> <name>", see `token create`); or set ACTIONCLIP_TOKENS')
    .option('--insecure-no-auth', 'listen beyond loopback without tokens (anyone reaching the port can do anything)')
    .option('--allowed-origin <origin>', 'a browser origin that may call the API and /ws (repeatable)', collect, [])
    .option('--tls-cert <file>', 'serve HTTPS and WSS with this certificate (PEM; security.tls.cert; re-read on SIGHUP)')
    .option('--tls-key <file>', 'private key of --tls-cert (PEM; security.tls.key)');
}

/** Numbers stay strings when they are not numbers, so zod reports them against the right key. */
export const numberOrString = (v: string | undefined): unknown => (v === undefined ? undefined : Number.isNaN(Number(v)) ? v : Number(v));

/** The server flags given, shaped like the config (port, host, security); only given flags appear. */
export function serverFlagsToConfig(f: ServerFlags): Record<string, unknown> {
  const s = {
    ...(f.tokensFile === undefined ? {} : { tokensFile: f.tokensFile }),
    ...(f.insecureNoAuth === true ? { insecureNoAuth: true } : {}),
    ...(f.allowedOrigin === undefined || f.allowedOrigin.length === 0 ? {} : { allowedOrigins: f.allowedOrigin }),
    ...(f.tlsCert === undefined && f.tlsKey === undefined ? {} : { tls: { cert: f.tlsCert, key: f.tlsKey } }),
  };
  return { port: numberOrString(f.port), host: f.host, security: Object.keys(s).length === 0 ? undefined : s };
}
