/**
 * Text embeddings on disk, so a vocabulary seen before (or a preset) is not encoded again at the
 * next start or update. One file per (model, template list, label); see entry-file.ts for the
 * format. The model key covers the weights' contents and the engine's numerics, so different
 * weights or engines never share entries. Entries are written to a temporary name and renamed, so
 * a crash never leaves a half entry under the real name; one that is corrupt anyway (disk fault,
 * tampering) fails its checksum, is deleted and recomputed. All entries together stay under
 * `maxBytes`: after a write, the least recently used ones (file mtime, refreshed on every hit) go.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { actionclipHome } from '../../actionclip-home.js';
import { decodeEntry, encodeEntry, ENTRY_FORMAT, type EntryIdentity } from './entry-file.js';
import { atomicWrite } from '../../lifecycle/atomic-write.js';

export const DEFAULT_TEXT_CACHE_MAX_BYTES = 256 * 2 ** 20;
/** Temporary files older than this are left-overs of a crashed writer. */
const STALE_TMP_MS = 3_600_000;

export interface TextCacheOptions {
  /** Default `$ACTIONCLIP_HOME/text-embeddings`. */
  readonly dir?: string;
  /** Bound on all entries together, every model's. Default 256 MiB. */
  readonly maxBytes?: number;
  /** Where a corrupt entry or a failed write is reported (the encode goes on). Default console.warn. */
  readonly warn?: (message: string) => void;
}

/** What decides the numbers a text encoder returns: the same key, bit-identical embeddings. */
export interface TextModelIdentity {
  /** Content hash of the CLIP weights (weightsDigest). */
  readonly weights: string;
  readonly engine: string;
  readonly backend: string;
  /** Float type, quantisation and kernel set, when the engine has a choice. */
  readonly precision?: string;
  readonly contextLength: number;
}

export const defaultTextCacheDir = (): string => path.join(actionclipHome(), 'text-embeddings');

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export class TextEmbeddingCache {
  readonly dir: string;
  readonly maxBytes: number;
  /** This model's key, and counts since it was opened (for logs and tests). */
  readonly model: string;
  readonly stats = { hits: 0, misses: 0, corrupt: 0, written: 0, evicted: 0 };
  private readonly warn: (message: string) => void;

  constructor(identity: TextModelIdentity, opts: TextCacheOptions = {}) {
    this.dir = opts.dir ?? defaultTextCacheDir();
    this.maxBytes = opts.maxBytes ?? DEFAULT_TEXT_CACHE_MAX_BYTES;
    this.warn = opts.warn ?? ((m) => console.warn(m));
    const { weights, engine, backend, precision, contextLength } = identity;
    this.model = sha256(JSON.stringify({ v: ENTRY_FORMAT, weights, engine, backend, precision: precision ?? null, contextLength })).slice(0, 32);
  }

  /** The file of one entry. */
  entryFile(label: string, templates: readonly string[]): string {
    return path.join(this.dir, this.model, `${sha256(JSON.stringify([label, templates])).slice(0, 40)}.bin`);
  }

  /** `[templates, dim]` rows for `label`, or undefined when absent or corrupt (then deleted). */
  async get(label: string, templates: readonly string[], dim: number): Promise<Float32Array | undefined> {
    const file = this.entryFile(label, templates);
    const bytes = await readFile(file).catch(() => undefined);
    if (bytes === undefined) return this.miss();
    const entry = decodeEntry(bytes, this.identity(label, templates, dim));
    if ('corrupt' in entry) {
      this.stats.corrupt++;
      this.warn(`text-embedding cache: ${file} is corrupt (${entry.corrupt}); deleting it and encoding ${JSON.stringify(label)} again`);
      await unlink(file).catch(() => undefined);
      return this.miss();
    }
    this.stats.hits++;
    const now = new Date();
    await utimes(file, now, now).catch(() => undefined); // recency for LRU eviction
    return entry.rows;
  }

  /** Stores `[templates, dim]` rows for `label`; a failed write is reported, never thrown. */
  async put(label: string, templates: readonly string[], rows: Float32Array): Promise<void> {
    const file = this.entryFile(label, templates);
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await atomicWrite(file, (tmp) => writeFile(tmp, encodeEntry(this.identity(label, templates, rows.length / templates.length), rows)));
      this.stats.written++;
    } catch (err) {
      this.warn(`text-embedding cache: cannot write ${file} (${(err as Error).message}); going on without it`);
    }
  }

  /** Deletes least recently used entries (any model's) until all fit in maxBytes, and stale temporary files. */
  async evict(): Promise<void> {
    const entries = await this.listEntries();
    let total = entries.reduce((s, e) => s + e.size, 0);
    for (const e of entries.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
      if (total <= this.maxBytes) break;
      await unlink(e.file).catch(() => undefined);
      total -= e.size;
      this.stats.evicted++;
    }
  }

  private identity(label: string, templates: readonly string[], dim: number): EntryIdentity {
    return { model: this.model, label, templates, dim };
  }

  private miss(): undefined {
    this.stats.misses++;
    return undefined;
  }

  private async listEntries(): Promise<{ file: string; size: number; mtimeMs: number }[]> {
    const out: { file: string; size: number; mtimeMs: number }[] = [];
    const models = await readdir(this.dir, { withFileTypes: true }).catch(() => []);
    for (const m of models.filter((d) => d.isDirectory())) {
      const dir = path.join(this.dir, m.name);
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        const file = path.join(dir, name);
        const st = await stat(file).catch(() => undefined);
        if (st === undefined) continue;
        if (name.endsWith('.bin')) out.push({ file, size: st.size, mtimeMs: st.mtimeMs });
        else if (name.endsWith('.tmp') && Date.now() - st.mtimeMs > STALE_TMP_MS) await unlink(file).catch(() => undefined);
      }
      if (names.length === 0) await rmdir(dir).catch(() => undefined);
    }
    return out;
  }
}
