import { existsSync } from 'node:fs';
import path from 'node:path';
import { findCatalogueEntry } from './catalogue.js';
import { actionclipHome, listCachedModels, modelDir, readManifest } from './model-cache.js';
import { isOffline, pullModel, type PullOptions } from './pull-model.js';

/**
 * What `--weights` names, as a path the loaders read: an existing file or folder as it is; a
 * catalogue name (`vit-b-32`, `vit-b-32@<revision>`) as its cache folder, pulled on first use;
 * the name a URL was pulled under (`models pull URL --name k400`) as its cache folder; anything
 * else unchanged, so the loader reports the missing path as before.
 */
export async function resolveWeights(spec: string, opts: PullOptions = {}): Promise<string> {
  if (existsSync(spec)) return spec;
  const home = opts.home ?? actionclipHome(opts.env);
  const entry = findCatalogueEntry(spec, home);
  if (entry === undefined) return pulledUrlModel(spec, home) ?? spec;
  const dir = modelDir(home, entry.name, entry.revision);
  if (readManifest(dir) !== undefined) return dir;
  const log = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  // Offline, pullModel says where to get the files instead.
  if (!isOffline(opts.env ?? process.env)) log(`model ${entry.name} is not in the cache yet: downloading it once (${entry.description})`);
  return (await pullModel(spec, { ...opts, home, log })).dir;
}

/**
 * A `weights` value that is a catalogue name and no existing path: config loaders keep it as a
 * name instead of making it a path relative to the config file or the working directory.
 */
export function isModelName(value: string, baseDir: string, home: string = actionclipHome()): boolean {
  return !existsSync(path.resolve(baseDir, value)) && (findCatalogueEntry(value, home) !== undefined || pulledUrlModel(value, home) !== undefined);
}

/** The cache folder of a model pulled from a URL under this name (`name` or `name@revision`), when complete. */
function pulledUrlModel(spec: string, home: string): string | undefined {
  const [name, revision] = spec.split('@', 2);
  const found = listCachedModels(home).filter((m) => m.name === name && m.manifest !== undefined && (revision === undefined || m.revision === revision));
  return found.length === 1 ? found[0].dir : undefined;
}
