import path from 'node:path';
import { defaultTextCacheDir, TextEmbeddingCache, type TextCacheOptions, type TextModelIdentity } from './text-embedding-cache.js';
import { weightsDigest } from './weights-digest.js';

/** Remembered weights hashes, beside the entries (not counted against the size bound). */
export const DIGEST_MEMO_FILE = 'weights-digests.json';

/**
 * The text cache of one loaded model: hashes the CLIP weights files once (remembered by path, size
 * and mtime, so a later load of unchanged files reads none of them) and keys the cache by that
 * hash and the engine's numerics. `false` turns the cache off.
 */
export async function openTextCache(weightsFiles: readonly string[], engine: Omit<TextModelIdentity, 'weights'>, opts: TextCacheOptions | false = {}): Promise<TextEmbeddingCache | null> {
  if (opts === false) return null;
  const dir = opts.dir ?? defaultTextCacheDir();
  try {
    const weights = await weightsDigest(weightsFiles, path.join(dir, DIGEST_MEMO_FILE));
    return new TextEmbeddingCache({ ...engine, weights }, { ...opts, dir });
  } catch (err) {
    // A model that loaded must not fail for want of a cache: it encodes every prompt instead.
    (opts.warn ?? console.warn)(`text-embedding cache off: cannot hash ${weightsFiles.join(', ')} (${(err as Error).message})`);
    return null;
  }
}
