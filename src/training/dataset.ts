/**
 * Training/evaluation datasets in ActionCLIP's list formats:
 * - frame folders (TSN style): `path num_frames label`, frames named by a template such as
 *   `img_{:05d}.jpg`, numbered from `indexBias` (1 for TSN extractions);
 * - video files: `video_path label`.
 * Labels come from an `id,name` CSV. Paths may contain spaces: the numeric fields are taken from
 * the end of the line. Relative paths resolve against `root` (default: the list file's folder).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { createRng } from './rng.js';

export type ListFormat = 'frames' | 'video';

interface RecordBase {
  /** Absolute (resolved) path of the frame folder or video file. */
  readonly path: string;
  readonly label: number;
  /** Where the record came from, for error messages: `file:line`. */
  readonly source: string;
}
export interface FrameFolderRecord extends RecordBase {
  readonly kind: 'frames';
  readonly numFrames: number;
}
export interface VideoFileRecord extends RecordBase {
  readonly kind: 'video';
}
export type DatasetRecord = FrameFolderRecord | VideoFileRecord;

export interface ListOptions {
  /** `auto` decides from the first data line: three fields whose last two are integers → frames. */
  format?: ListFormat | 'auto';
  /** Folder that relative paths resolve against; default the list file's folder. */
  root?: string;
  /** Number of classes; labels must lie in [0, numClasses). */
  numClasses?: number;
}

const INT = /^-?\d+$/;

function fail(file: string, line: number, message: string): never {
  throw new ConfigError(`${file}:${line}: ${message}`);
}

/** Parses list text; `file` names it in errors. Blank lines and `#` comments are skipped. */
export function parseDatasetList(text: string, file: string, options: ListOptions = {}): DatasetRecord[] {
  const root = options.root ?? path.dirname(path.resolve(file));
  let format = options.format ?? 'auto';
  const out: DatasetRecord[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    if (format === 'auto') {
      format = fields.length >= 3 && INT.test(fields[fields.length - 1]) && INT.test(fields[fields.length - 2]) ? 'frames' : 'video';
    }
    const source = `${file}:${lineNo}`;
    const need = format === 'frames' ? 3 : 2;
    if (fields.length < need) {
      fail(file, lineNo, `expected "${format === 'frames' ? 'path num_frames label' : 'video_path label'}", got ${JSON.stringify(line)}`);
    }
    const labelText = fields[fields.length - 1];
    if (!INT.test(labelText)) fail(file, lineNo, `label ${JSON.stringify(labelText)} is not an integer`);
    const label = Number(labelText);
    if (label < 0) fail(file, lineNo, `label ${label} is negative`);
    if (options.numClasses !== undefined && label >= options.numClasses) {
      fail(file, lineNo, `label ${label} is out of range: the label file has ${options.numClasses} classes (ids 0..${options.numClasses - 1})`);
    }
    // Rejoin the leading fields with the original spacing so paths with spaces survive.
    const pathFieldCount = fields.length - (need - 1);
    const rel = rawPrefix(line, pathFieldCount);
    const abs = path.resolve(root, rel);
    if (format === 'frames') {
      const nText = fields[fields.length - 2];
      if (!INT.test(nText)) fail(file, lineNo, `num_frames ${JSON.stringify(nText)} is not an integer`);
      const numFrames = Number(nText);
      if (numFrames < 1) fail(file, lineNo, `num_frames must be at least 1, got ${numFrames}`);
      out.push({ kind: 'frames', path: abs, numFrames, label, source });
    } else {
      out.push({ kind: 'video', path: abs, label, source });
    }
  }
  if (out.length === 0) throw new ConfigError(`${file}: the list has no entries`);
  return out;
}

/** The first `n` whitespace-separated fields of `line`, with their inner whitespace kept. */
function rawPrefix(line: string, n: number): string {
  const re = /\S+/g;
  let end = 0;
  for (let k = 0; k < n; k++) {
    const m = re.exec(line);
    if (!m) break;
    end = m.index + m[0].length;
  }
  return line.slice(0, end);
}

export async function loadDatasetList(file: string, options: ListOptions = {}): Promise<DatasetRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read dataset list ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return parseDatasetList(text, file, options);
}

/**
 * Parses an `id,name` label CSV (header optional). Ids must be 0..n-1, each once; names are
 * non-empty and may contain commas when quoted. Returns names indexed by id.
 */
export function parseLabelCsv(text: string, file: string): string[] {
  const names = new Map<number, string>();
  const seenNames = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  let first = true;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trim();
    if (line === '') continue;
    const comma = line.indexOf(',');
    if (comma < 0) fail(file, lineNo, `expected "id,name", got ${JSON.stringify(line)}`);
    const idText = line.slice(0, comma).trim();
    let name = line.slice(comma + 1).trim();
    if (first && !INT.test(idText)) {
      // A header row such as `id,name`.
      first = false;
      continue;
    }
    first = false;
    if (!INT.test(idText)) fail(file, lineNo, `id ${JSON.stringify(idText)} is not an integer`);
    if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).replace(/""/g, '"');
    if (name === '') fail(file, lineNo, 'empty label name');
    const id = Number(idText);
    if (names.has(id)) fail(file, lineNo, `duplicate id ${id}`);
    const prev = seenNames.get(name);
    if (prev !== undefined) fail(file, lineNo, `duplicate label name ${JSON.stringify(name)} (also id ${prev})`);
    names.set(id, name);
    seenNames.set(name, id);
  }
  if (names.size === 0) throw new ConfigError(`${file}: the label file has no labels`);
  const out: string[] = [];
  for (let id = 0; id < names.size; id++) {
    const n = names.get(id);
    if (n === undefined) throw new ConfigError(`${file}: ids must be 0..${names.size - 1} without gaps; id ${id} is missing`);
    out.push(n);
  }
  return out;
}

export async function loadLabelCsv(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read label file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return parseLabelCsv(text, file);
}

/**
 * File name of frame `index` from a template: Python format (`img_{:05d}.jpg`, `{:d}`, `{}`) as
 * ActionCLIP's `image_tmpl`, or printf (`img_%05d.jpg`) as ffmpeg writes them.
 */
export function frameFileName(template: string, index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`frame index must be a non-negative integer, got ${index}`);
  const py = /\{(?::(0?)(\d*)d)?\}/;
  const pm = py.exec(template);
  if (pm) return template.replace(py, pad(index, pm[1] === '0', pm[2]));
  const c = /%(0?)(\d*)d/;
  const cm = c.exec(template);
  if (cm) return template.replace(c, pad(index, cm[1] === '0', cm[2]));
  throw new ConfigError(`frame template ${JSON.stringify(template)} has no index placeholder ({:05d}, {} or %05d)`);
}

function pad(index: number, zero: boolean, width: string): string {
  const w = width === '' ? 0 : Number(width);
  return String(index).padStart(w, zero ? '0' : ' ');
}

/** Paths of the frames at 0-based `indices` of a frame-folder record (index 0 → `indexBias`). */
export function framePaths(record: FrameFolderRecord, indices: readonly number[], template = 'img_{:05d}.jpg', indexBias = 1): string[] {
  return indices.map((i) => {
    if (i < 0 || i >= record.numFrames) throw new RangeError(`${record.source}: frame index ${i} outside 0..${record.numFrames - 1}`);
    return path.join(record.path, frameFileName(template, i + indexBias));
  });
}

export interface FewShotOptions {
  /** Examples per class. */
  k: number;
  seed: number;
  /** Throw when a class has fewer than k examples (default); otherwise take all it has. */
  strict?: boolean;
  /** Classes to keep; default every class present. */
  classes?: readonly number[];
}

/**
 * K examples per class, chosen uniformly without replacement with a seeded RNG. The result
 * keeps the list's order, so the same seed gives the same subset whatever the caller does next.
 */
export function fewShotSubset<R extends { label: number; source?: string }>(records: readonly R[], options: FewShotOptions): R[] {
  const { k, seed, strict = true } = options;
  if (!(Number.isInteger(k) && k > 0)) throw new ConfigError(`few-shot k must be a positive integer, got ${k}`);
  const byClass = new Map<number, number[]>();
  records.forEach((r, i) => {
    const list = byClass.get(r.label) ?? [];
    list.push(i);
    byClass.set(r.label, list);
  });
  const classes = options.classes ?? [...byClass.keys()].sort((a, b) => a - b);
  const rng = createRng(seed);
  const keep = new Set<number>();
  for (const c of classes) {
    const idx = byClass.get(c) ?? [];
    if (idx.length < k && strict) {
      throw new ConfigError(`few-shot: class ${c} has ${idx.length} example(s), fewer than k=${k}`);
    }
    // A per-class fork keeps each class's choice independent of how many other classes exist.
    for (const i of rng.fork().shuffle(idx).slice(0, k)) keep.add(i);
  }
  return records.filter((_, i) => keep.has(i));
}

/** Count of records per label, for summaries and checks. */
export function classCounts(records: readonly { label: number }[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of records) m.set(r.label, (m.get(r.label) ?? 0) + 1);
  return m;
}
