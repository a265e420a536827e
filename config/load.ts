import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, formatIssues } from '../src/errors.js';
import { isModelName } from '../src/models/resolve-weights.js';
import type { TextCacheOptions } from '../src/model/text-cache/text-embedding-cache.js';
import { DEFAULTS, KAFKA_DEFAULTS } from './defaults.js';
import { type CameraConfig, CameraSchema, type Config, ConfigSchema, LabelsSchema, type TextCacheConfig, TextCacheSchema } from './schema.js';

/** A partial configuration: what a YAML file or the CLI flags contribute. */
export type ConfigInput = Record<string, unknown>;

/** Validate with a schema, turning failures into a ConfigError naming each offending key. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ConfigError(`invalid ${what}: ${formatIssues(r.error)}`);
  return r.data;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars from `over` replace; `undefined` never overrides. */
export function deepMerge(base: ConfigInput, over: ConfigInput): ConfigInput {
  const out: ConfigInput = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as ConfigInput, v) : v;
  }
  return out;
}

/** `ID=URL` from `--camera`. The URL may itself contain `=`. */
export function parseCameraFlag(spec: string): CameraConfig {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--camera: expected ID=URL, got "${spec.replace(/\/\/[^@/]*@/, '//***@')}"`);
  return parseOrThrow(CameraSchema, { id: spec.slice(0, eq), url: spec.slice(eq + 1) }, '--camera');
}

/** Relative file paths in a YAML file mean "relative to that file", not to the working directory. */
function resolvePaths(input: ConfigInput, baseDir: string): ConfigInput {
  const out = { ...input };
  for (const key of ['weights', 'fusion', 'jsonl'] as const) {
    const v = out[key];
    // A catalogue model name (weights: vit-b-32) stays a name.
    if (key === 'weights' && typeof v === 'string' && isModelName(v, baseDir)) continue;
    if (typeof v === 'string' && v !== '-' && !path.isAbsolute(v)) out[key] = path.resolve(baseDir, v);
  }
  const cache = out.textCache;
  if (isPlainObject(cache) && typeof cache.dir === 'string' && !path.isAbsolute(cache.dir)) out.textCache = { ...cache, dir: path.resolve(baseDir, cache.dir) };
  resolveNested(out, ['security', 'tls'], ['cert', 'key'], baseDir);
  resolveNested(out, ['kafka', 'sasl'], ['passwordFile'], baseDir);
  resolveNested(out, ['kafka', 'ssl'], ['ca', 'cert', 'key'], baseDir);
  // A vocabulary that looks like a path is a file; a bare name is a preset.
  if (typeof out.vocabulary === 'string' && looksLikePath(out.vocabulary) && !path.isAbsolute(out.vocabulary)) {
    out.vocabulary = path.resolve(baseDir, out.vocabulary);
  }
  // A camera without a scheme is a video file (a demo, a recording).
  if (Array.isArray(out.cameras)) {
    out.cameras = out.cameras.map((c: unknown) =>
      isPlainObject(c) && typeof c.url === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(c.url) && !path.isAbsolute(c.url) ? { ...c, url: path.resolve(baseDir, c.url) } : c,
    );
  }
  return out;
}

/** Resolves file settings inside nested sections (`security.tls.cert`), copying what it changes. */
function resolveNested(input: ConfigInput, section: readonly string[], keys: readonly string[], baseDir: string): void {
  let parent = input;
  for (const [i, name] of section.entries()) {
    const child = parent[name];
    if (!isPlainObject(child)) return;
    parent[name] = { ...child };
    parent = parent[name] as ConfigInput;
    if (i === section.length - 1) {
      for (const k of keys) if (typeof parent[k] === 'string' && !path.isAbsolute(parent[k])) parent[k] = path.resolve(baseDir, parent[k]);
    }
  }
}

function looksLikePath(v: string): boolean {
  return v.includes('/') || v.includes('\\') || /\.(txt|csv|json|ya?ml)$/i.test(v);
}

export function readConfigFile(file: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || doc === undefined) return {};
  if (!isPlainObject(doc)) throw new ConfigError(`config file ${file}: the top level must be a mapping of keys`);
  return resolvePaths(doc, path.dirname(path.resolve(file)));
}

export interface LoadOptions {
  /** YAML file (`--config`). */
  file?: string;
  /** Values from CLI flags, already shaped like the config; they win over the file. */
  overrides?: ConfigInput;
  /** A role that loads no model (fleet `ingest`, `gateway`): weights are not asked for. */
  noModel?: string;
}

/** defaults < YAML file < flags, validated once. Errors name the offending key. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const fromFile = opts.file === undefined ? {} : readConfigFile(opts.file);
  const merged = deepMerge(deepMerge(DEFAULTS as unknown as ConfigInput, fromFile), opts.overrides ?? {});
  if (opts.noModel !== undefined && merged.weights === undefined) merged.weights = `(none: ${opts.noModel} loads no model)`;
  // Kafka defaults only apply once Kafka is asked for at all.
  if (isPlainObject(merged.kafka)) merged.kafka = deepMerge(KAFKA_DEFAULTS as unknown as ConfigInput, merged.kafka);
  if (typeof merged.kafka === 'object' && merged.kafka !== null && typeof (merged.kafka as ConfigInput).brokers === 'string') {
    (merged.kafka as ConfigInput).brokers = splitList((merged.kafka as ConfigInput).brokers as string);
  }
  const where = opts.file === undefined ? 'configuration' : `configuration (${opts.file} + flags)`;
  return parseOrThrow(ConfigSchema, merged, where);
}

/** The text cache settings from flags alone (commands without a config file), over the defaults. */
export function loadTextCacheConfig(overrides: ConfigInput = {}): TextCacheConfig {
  return parseOrThrow(TextCacheSchema, deepMerge(DEFAULTS.textCache, overrides), 'text cache options');
}

/** The config's text cache section as loadModel takes it (`false`: off). */
export function textCacheOptions(c: TextCacheConfig): TextCacheOptions | false {
  return c.enabled ? { dir: c.dir, maxBytes: Math.round(c.maxMB * 2 ** 20) } : false;
}

export function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

// ---- vocabularies -------------------------------------------------------------------------------

/** config/vocabularies beside this file (source tree) or two levels up (compiled into dist/config). */
export function presetDirs(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [path.join(here, 'vocabularies'), path.resolve(here, '..', '..', 'config', 'vocabularies')].filter((d) => existsSync(d));
}

const VOCAB_EXTS = ['.txt', '.csv', '.json', '.yaml', '.yml'];

/** Preset names available (file names without extension). */
export function listPresets(dirs = presetDirs()): string[] {
  const names = new Set<string>();
  for (const d of dirs) for (const f of readdirSync(d)) if (VOCAB_EXTS.includes(path.extname(f).toLowerCase())) names.add(path.basename(f, path.extname(f)));
  return [...names].sort();
}

/** A preset name (`kinetics400`, case-insensitive, `-`/`_` ignored) to its file. */
export function findPreset(name: string, dirs = presetDirs()): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
  for (const d of dirs) {
    for (const f of readdirSync(d)) {
      const ext = path.extname(f).toLowerCase();
      if (VOCAB_EXTS.includes(ext) && norm(path.basename(f, ext)) === norm(name)) return path.join(d, f);
    }
  }
  return undefined;
}

export interface VocabularyFile {
  labels: string[];
  templates?: string[];
}

/**
 * Read labels from .txt (one per line, `#` comments), .csv (`id,name` with header, or one name per
 * line), .json / .yaml (an array of labels, or `{labels, templates?}`).
 */
export function readVocabularyFile(file: string): VocabularyFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`vocabulary: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const ext = path.extname(file).toLowerCase();
  let doc: unknown;
  if (ext === '.json' || ext === '.yaml' || ext === '.yml') {
    try {
      doc = ext === '.json' ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new ConfigError(`vocabulary: ${file} does not parse: ${(err as Error).message}`, { cause: err });
    }
    if (Array.isArray(doc)) doc = { labels: doc };
  } else {
    const lines = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !l.startsWith('#'));
    let labels = lines;
    if (ext === '.csv') {
      const header = lines[0]?.toLowerCase().split(',').map((h) => h.trim());
      const col = header?.indexOf('name') ?? -1;
      if (col >= 0) labels = lines.slice(1).map((l) => l.split(',').slice(col).join(',').trim());
      else if (lines.every((l) => /^\d+,/.test(l))) labels = lines.map((l) => l.slice(l.indexOf(',') + 1).trim());
    }
    doc = { labels };
  }
  return parseOrThrow(z.object({ labels: LabelsSchema, templates: z.array(z.string()).optional() }), doc, `vocabulary file ${file}`);
}

/** The labels/templates the service starts with: inline labels, a vocabulary file, or a preset. */
export function resolveVocabulary(config: Pick<Config, 'labels' | 'vocabulary' | 'templates'>, dirs = presetDirs()): VocabularyFile {
  let v: VocabularyFile;
  if (config.labels !== undefined) v = { labels: [...config.labels] };
  else if (config.vocabulary !== undefined) {
    const spec = config.vocabulary;
    if (existsSync(spec)) v = readVocabularyFile(spec);
    else {
      const preset = looksLikePath(spec) ? undefined : findPreset(spec, dirs);
      if (preset === undefined) {
        const known = listPresets(dirs);
        throw new ConfigError(
          `vocabulary: "${spec}" is neither a file nor a preset${known.length > 0 ? ` (presets: ${known.join(', ')})` : ''}`,
        );
      }
      v = readVocabularyFile(preset);
    }
  } else throw new ConfigError('labels: give labels, a vocabulary file or a vocabulary preset name');
  const templates = config.templates ?? v.templates;
  return templates === undefined ? { labels: v.labels } : { labels: v.labels, templates };
}
