import { existsSync } from 'node:fs';
import path from 'node:path';
import { findCatalogueEntry } from './catalogue.js';
import { actionclipHome, modelDir, readManifest } from './model-cache.js';
import { isOffline, pullModel, type PullOptions } from './pull-model.js';

/**
 * What `--weights` names, as a path the loaders read: an existing file or folder as it is; a
 * catalogue name (`vit-b-32`, `vit-b-32@<revision>`) as its cache folder, pulled on first use;
 * anything else unchanged, so the loader reports the missing path as before.
 */
export async function resolveWeights(spec: string, opts: PullOptions = {}): Promise<string> {
  if (existsSync(spec)) return spec;
  const home = opts.home ?? actionclipHome(opts.env);
  const entry = findCatalogueEntry(spec, home);
  if (entry === undefined) return spec;
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
  return !existsSync(path.resolve(baseDir, value)) && findCatalogueEntry(value, home) !== undefined;
}
