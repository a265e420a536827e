/** On-disk cache of serialized graphs, keyed by the weights' bytes and the graph builder's version. */
import { createHash } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { actionclipHome } from '../../actionclip-home.js';
import type { TensorMap } from '../../model/weights/tensor-map.js';
import { atomicWrite } from '../../lifecycle/atomic-write.js';

/**
 * Bump when any graph builder changes what it emits, so stale cached graphs are not reused.
 */
export const GRAPH_BUILDER_VERSION = 'onnx-graphs-2';

export function defaultCacheDir(): string {
  return path.join(actionclipHome(), 'onnx');
}

/** sha256 over the builder version, the graph options and every tensor (name, dtype, shape, bytes) selected. */
export function graphKey(kind: string, options: Record<string, unknown>, tensors: TensorMap | null, select: (key: string) => boolean = () => true): string {
  const h = createHash('sha256');
  h.update(`${GRAPH_BUILDER_VERSION}\n${kind}\n${JSON.stringify(options, Object.keys(options).sort())}\n`);
  if (tensors !== null) {
    for (const name of [...tensors.keys()].sort()) {
      if (!select(name)) continue;
      const t = tensors.get(name)!;
      h.update(`${name}|${t.dtype}|${t.shape.join(',')}\n`);
      h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  }
  return h.digest('hex').slice(0, 32);
}

/**
 * The path of the cached graph `key`, building and writing it first when absent. Writes go to a
 * temporary name in the same directory and are renamed into place, so concurrent processes never
 * read a half-written file.
 */
export async function cachedGraph(dir: string, kind: string, key: string, build: () => Uint8Array): Promise<{ file: string; hit: boolean }> {
  const file = path.join(dir, `${kind}-${key}.onnx`);
  const existing = await stat(file).catch(() => null);
  if (existing !== null && existing.size > 0) return { file, hit: true };
  await mkdir(dir, { recursive: true });
  await atomicWrite(file, (tmp) => writeFile(tmp, build()));
  return { file, hit: false };
}
