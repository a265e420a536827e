import { encodePrompts, PROMPT_CHUNK, type PromptEncoder } from './encode-prompts.js';
import { expandPrompts } from './prompts.js';
import type { TextEmbeddingCache } from './text-cache/text-embedding-cache.js';

export interface VocabularyEmbeddingsOptions {
  /** Embeddings of labels encoded before; only the labels it lacks reach the encoder. */
  readonly cache?: TextEmbeddingCache | null;
  /** Prompts per encodeText call. */
  readonly chunkSize?: number;
}

/**
 * Text embeddings of every prompt of a vocabulary, template-major (`[M·L, D]`, row `t·L + l` is
 * template t applied to label l), not normalised. With a cache, each label's M rows come from it
 * when present and are stored after encoding when not. Rows do not depend on which other prompts
 * share their encodeText call, so the result is bit-identical with or without the cache.
 */
export async function vocabularyEmbeddings(encoder: PromptEncoder, labels: readonly string[], templates: readonly string[], opts: VocabularyEmbeddingsOptions = {}): Promise<Float32Array> {
  const { cache, chunkSize = PROMPT_CHUNK } = opts;
  const dim = encoder.info.clip.embedDim;
  const [m, l] = [templates.length, labels.length];
  const rows: (Float32Array | undefined)[] = cache ? await Promise.all(labels.map((label) => cache.get(label, templates, dim))) : new Array(l);
  const missing = labels.flatMap((label, i) => (rows[i] === undefined ? [i] : []));
  if (missing.length > 0) {
    const fresh = await encodePrompts(encoder, expandPrompts(missing.map((i) => labels[i]), templates), chunkSize);
    missing.forEach((i, j) => {
      const own = new Float32Array(m * dim);
      for (let t = 0; t < m; t++) own.set(fresh.subarray((t * missing.length + j) * dim, (t * missing.length + j + 1) * dim), t * dim);
      rows[i] = own;
    });
    if (cache) {
      await Promise.all(missing.map((i) => cache.put(labels[i], templates, rows[i]!)));
      await cache.evict();
    }
  }
  const out = new Float32Array(m * l * dim);
  rows.forEach((own, i) => {
    for (let t = 0; t < m; t++) out.set(own!.subarray(t * dim, (t + 1) * dim), (t * l + i) * dim);
  });
  return out;
}
