import { BehaviorSubject, type Observable } from 'rxjs';
import type { z } from 'zod';
import { VocabularyUpdateSchema } from '../../config/schema.js';
import type { Engine } from '../engine/engine.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { ActionClipError, ConfigError, formatIssues } from '../errors.js';
import { ACTIONCLIP_TEMPLATES, expandPrompts } from '../model/prompts.js';
import type { TextEmbeddingCache } from '../model/text-cache/text-embedding-cache.js';
import { vocabularyEmbeddings } from '../model/vocabulary-embeddings.js';
import type { Vocabulary } from '../types.js';

/** Versions `history()` keeps: enough to see what changed lately. */
const HISTORY_LENGTH = 20;

/** A version as the history keeps it: its names, not its embeddings (megabytes for a large vocabulary). */
export type VocabularyVersion = Pick<Vocabulary, 'version' | 'labels' | 'templates' | 'createdAt'>;

const versionOf = (v: Vocabulary): VocabularyVersion => ({ version: v.version, labels: v.labels, templates: v.templates, createdAt: v.createdAt });

export type VocabularyInput = z.input<typeof VocabularyUpdateSchema>;

export interface VocabularyStoreOptions {
  /** Clock for `createdAt`. Default `Date.now`. */
  readonly now?: () => number;
  /** Prompts per `encodeText` call (bounds engine memory for big vocabularies). Default 256. */
  readonly textBatch?: number;
  /** Embeddings of labels encoded before (the model's `textCache`); only the others are encoded. */
  readonly textCache?: TextEmbeddingCache | null;
  /** Templates when the first vocabulary names none (the checkpoint's). Default ActionCLIP's 16. */
  readonly templates?: readonly string[];
  /** Reports pending and superseded updates. */
  readonly instrumentation?: Instrumentation;
  /** Version of the first vocabulary. Default 1 (a fleet's infer takes the vocabulary topic's). */
  readonly initialVersion?: number;
}

type Parsed = ReturnType<typeof parseInput>;

/** The one update waiting behind the running one, and everyone who asked for it or an older one. */
interface Pending {
  input: Parsed;
  /** Set by a follower of versions numbered elsewhere (the fleet's vocabulary topic). */
  version: number | undefined;
  readonly waiters: Array<{ resolve: (v: Vocabulary) => void; reject: (err: unknown) => void }>;
}

/** How a store encodes: its engine, chunk size and cache. */
interface Encoding {
  readonly engine: Engine;
  readonly textBatch: number;
  readonly cache: TextEmbeddingCache | null;
}

function parseInput(input: unknown): { labels: string[]; templates: string[] | undefined } {
  const r = VocabularyUpdateSchema.safeParse(input);
  if (!r.success) {
    const what = formatIssues(r.error, { root: 'vocabulary', indices: 'dots' });
    throw new ConfigError(`invalid vocabulary: ${what}`);
  }
  return { labels: r.data.labels, templates: r.data.templates };
}

/**
 * Validates a vocabulary request: labels trimmed, non-empty, unique (case-sensitive after trimming),
 * at most MAX_LABELS; templates (default ACTIONCLIP_TEMPLATES) each containing `{}`.
 * @throws ConfigError saying which entry is wrong.
 */
export function validateVocabulary(input: unknown): { labels: string[]; templates: string[] } {
  const { labels, templates } = parseInput(input);
  return { labels, templates: templates ?? [...ACTIONCLIP_TEMPLATES] };
}

/** Text embeddings of every prompt, template-major, rows L2-normalised. */
async function encodeVocabulary(how: Encoding, labels: readonly string[], templates: readonly string[]): Promise<Float32Array> {
  const out = await vocabularyEmbeddings(how.engine, labels, templates, { cache: how.cache, chunkSize: how.textBatch });
  const prompts = expandPrompts(labels, templates);
  normalizeRows(out, how.engine.info.clip.embedDim, (r) => JSON.stringify(prompts[r]));
  return out;
}

/** L2-normalises each `dim`-row in place; a zero or non-finite row is refused (it would score NaN for every window). */
function normalizeRows(data: Float32Array, dim: number, name: (row: number) => string): void {
  for (let r = 0; r < data.length / dim; r++) {
    let ss = 0;
    for (let d = 0; d < dim; d++) ss += data[r * dim + d] ** 2;
    const norm = Math.sqrt(ss);
    if (!(norm > 0 && Number.isFinite(norm))) throw new ActionClipError(`text embedding of prompt ${name(r)} has norm ${norm}`);
    for (let d = 0; d < dim; d++) data[r * dim + d] /= norm;
  }
}

/**
 * A Vocabulary from text embeddings computed elsewhere (another process, a cache, a fixture):
 * validates the names, copies and L2-normalises `[M*L, D]` template-major rows.
 */
export function vocabularyFromEmbeddings(args: {
  readonly version: number;
  readonly labels: readonly string[];
  readonly templates?: readonly string[];
  readonly textEmbeddings: Float32Array;
  readonly createdAt?: number;
}): Vocabulary {
  const { labels, templates } = validateVocabulary({ labels: [...args.labels], templates: args.templates === undefined ? undefined : [...args.templates] });
  const rows = labels.length * templates.length;
  const dim = args.textEmbeddings.length / rows;
  if (!Number.isInteger(dim) || dim < 1) throw new ConfigError(`${args.textEmbeddings.length} text embedding values do not fit ${templates.length} templates x ${labels.length} labels`);
  const textEmbeddings = Float32Array.from(args.textEmbeddings);
  normalizeRows(textEmbeddings, dim, (r) => `${r} (template ${Math.floor(r / labels.length)}, label ${JSON.stringify(labels[r % labels.length])})`);
  return Object.freeze({ version: args.version, labels: Object.freeze(labels), templates: Object.freeze(templates), textEmbeddings, dim, createdAt: args.createdAt ?? Date.now() });
}

/**
 * The open vocabulary: text embeddings are computed once per version
 * (`tokenize(expandPrompts(labels, templates))` -> `engine.encodeText`, rows L2-normalised) and
 * swapped atomically: `vocabulary$` replays the current version to new subscribers and emits each
 * new one. Updates are serialised (each starts after the previous one settled, so versions are
 * applied in call order); one that fails validation or encoding rejects with a ConfigError (or the
 * engine's error) and leaves the previous version active.
 *
 * Bounded under a storm of updates (50 a second): at most one update is encoded and one waits;
 * a newer one replaces the waiting one (the last one wins; callers of the replaced one get the
 * version that replaced it), so memory does not grow with the request rate.
 */
export class VocabularyStore {
  private readonly subject: BehaviorSubject<Vocabulary>;
  /** The versions applied so far, newest last (at most HISTORY_LENGTH), without their embeddings. */
  private readonly past: VocabularyVersion[] = [];
  private running = false;
  private pending: Pending | undefined;
  private disposed = false;

  /** Encodes the first vocabulary (version `initialVersion`, default 1). */
  static async create(engine: Engine, initial: VocabularyInput, options: VocabularyStoreOptions = {}): Promise<VocabularyStore> {
    const now = options.now ?? Date.now;
    const how: Encoding = { engine, textBatch: options.textBatch ?? 256, cache: options.textCache ?? null };
    const given = initial.templates ?? (options.templates === undefined ? undefined : [...options.templates]);
    const { labels, templates } = validateVocabulary({ ...initial, templates: given });
    const textEmbeddings = await encodeVocabulary(how, labels, templates);
    const first: Vocabulary = Object.freeze({ version: options.initialVersion ?? 1, labels: Object.freeze(labels), templates: Object.freeze(templates), textEmbeddings, dim: engine.info.clip.embedDim, createdAt: now() });
    return new VocabularyStore(how, first, now, options.instrumentation);
  }

  private constructor(
    private readonly how: Encoding,
    first: Vocabulary,
    private readonly now: () => number,
    private readonly instrumentation?: Instrumentation,
  ) {
    this.subject = new BehaviorSubject(first);
    this.past.push(versionOf(first));
    this.reportCache();
  }

  private reportCache(): void {
    const c = this.how.cache;
    if (c !== null) this.instrumentation?.emit('text_cache.stats', { hits: c.stats.hits, misses: c.stats.misses, evicted: c.stats.evicted, maxBytes: c.maxBytes });
  }

  /** Current version, replayed on subscribe; completes on dispose. */
  get vocabulary$(): Observable<Vocabulary> {
    return this.subject.asObservable();
  }

  get current(): Vocabulary {
    return this.subject.getValue();
  }

  /**
   * Replaces labels (and templates: omitted keeps the current ones). Resolves with the new version
   * once it is active. `version`: the number it gets (a version numbered elsewhere); default current + 1.
   */
  update(input: VocabularyInput, version?: number): Promise<Vocabulary> {
    let parsed: Parsed;
    try {
      // Invalid requests fail alone, before they can replace a valid waiting one.
      parsed = parseInput(input);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      if (this.pending !== undefined) {
        this.pending.input = parsed;
        this.pending.version = version;
        this.instrumentation?.emit('vocabulary.superseded', { count: 1 });
      } else this.pending = { input: parsed, version, waiters: [] };
      this.pending.waiters.push({ resolve, reject });
      this.instrumentation?.emit('vocabulary.pending', { pending: 1 });
      void this.drain();
    });
  }

  /** Runs the waiting update, if any, once the running one settled; a failure does not block the next. */
  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    while (this.pending !== undefined) {
      const { input, version, waiters } = this.pending;
      this.pending = undefined;
      this.instrumentation?.emit('vocabulary.pending', { pending: 0 });
      try {
        const v = await this.apply(input, version);
        this.reportCache();
        for (const w of waiters) w.resolve(v);
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    }
    this.running = false;
  }

  /** Versions applied so far, oldest first, the current one last (at most the last 20). */
  history(): readonly VocabularyVersion[] {
    return [...this.past];
  }

  /**
   * A vocabulary encoded as `update` would encode it (templates omitted: the current ones) but never
   * applied: version 0, nothing changes for the cameras. Rejects as `update` does on a bad one.
   */
  async draft(input: VocabularyInput): Promise<Vocabulary> {
    const parsed = parseInput(input);
    const templates = parsed.templates ?? [...this.current.templates];
    const textEmbeddings = await encodeVocabulary(this.how, parsed.labels, templates);
    return Object.freeze({ version: 0, labels: Object.freeze(parsed.labels), templates: Object.freeze(templates), textEmbeddings, dim: this.how.engine.info.clip.embedDim, createdAt: this.now() });
  }

  /** Completes `vocabulary$`; later updates reject. */
  dispose(): void {
    this.disposed = true;
    this.subject.complete();
  }

  private async apply(parsed: Parsed, version: number | undefined): Promise<Vocabulary> {
    if (this.disposed) throw new ActionClipError('vocabulary store is disposed');
    const prev = this.current;
    const templates = parsed.templates ?? [...prev.templates];
    const textEmbeddings = await encodeVocabulary(this.how, parsed.labels, templates);
    if (this.disposed) throw new ActionClipError('vocabulary store was disposed during the update');
    const next: Vocabulary = Object.freeze({
      version: version ?? prev.version + 1,
      labels: Object.freeze(parsed.labels),
      templates: Object.freeze(templates),
      textEmbeddings,
      dim: this.how.engine.info.clip.embedDim,
      createdAt: this.now(),
    });
    this.subject.next(next);
    this.past.push(versionOf(next));
    if (this.past.length > HISTORY_LENGTH) this.past.shift();
    return next;
  }
}
