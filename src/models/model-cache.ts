/**
 * The model cache: `$ACTIONCLIP_HOME` (default `~/.cache/actionclip-stream`)
 * `/models/<name>/<revision>/`, holding the weights and a `manifest.json` written last, after the
 * files are verified. A folder without a manifest is an unfinished pull, never a model.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { NotFoundError } from '../errors.js';
import { atomicWrite } from '../lifecycle/atomic-write.js';

export { actionclipHome } from '../actionclip-home.js';

export function modelDir(home: string, name: string, revision: string): string {
  // A revision such as refs/pr/1 must stay one folder.
  return path.join(home, 'models', name, revision.replace(/[/\\]/g, '--'));
}

export const MANIFEST_FILE = 'manifest.json';

const fileSchema = z.object({ name: z.string(), size: z.number().int().nonnegative(), sha256: z.string() });
export type ManifestFile = z.infer<typeof fileSchema>;

const manifestSchema = z.object({
  name: z.string(),
  revision: z.string(),
  source: z.string(),
  commit: z.string().nullable(),
  files: z.array(fileSchema).min(1),
  /** The checkpoint the files were converted from (deleted after the conversion). */
  convertedFrom: fileSchema.optional(),
  /** How the sha256 was checked: against the catalogue, the hub's LFS hash, or nothing published. */
  verifiedBy: z.enum(['catalogue', 'hub', 'none']),
  pulledAt: z.string(),
});
export type ModelManifest = z.infer<typeof manifestSchema>;

/** The manifest when the folder holds a complete pull (manifest valid, every file there at its size). */
export function readManifest(dir: string): ModelManifest | undefined {
  try {
    const m = manifestSchema.parse(JSON.parse(readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')));
    return m.files.every((f) => statSync(path.join(dir, f.name)).size === f.size) ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Atomic (write, then rename), so a reader sees no manifest or a whole one. */
export async function writeManifest(dir: string, manifest: ModelManifest): Promise<void> {
  await atomicWrite(path.join(dir, MANIFEST_FILE), (tmp) => writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`));
}

export interface CachedModel {
  readonly name: string;
  readonly revision: string;
  readonly dir: string;
  /** Bytes on disk in the folder (complete files and any `.part`). */
  readonly bytes: number;
  readonly manifest: ModelManifest | undefined;
}

const subdirs = (dir: string): string[] => {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
};

const folderBytes = (dir: string): number => readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isFile() ? statSync(path.join(dir, e.name)).size : 0), 0);

/** Every `<name>/<revision>` folder in the cache, complete or not. */
export function listCachedModels(home: string): CachedModel[] {
  const root = path.join(home, 'models');
  return subdirs(root).flatMap((name) =>
    subdirs(path.join(root, name)).map((revision) => {
      const dir = path.join(root, name, revision);
      return { name, revision, dir, bytes: folderBytes(dir), manifest: readManifest(dir) };
    }),
  );
}

/** Deletes a model's folder (one revision, or all of them); returns what was removed. */
export async function removeCachedModel(home: string, name: string, revision?: string): Promise<string[]> {
  const found = listCachedModels(home).filter((m) => m.name === name && (revision === undefined || m.revision === revision.replace(/[/\\]/g, '--')));
  if (found.length === 0) throw new NotFoundError(`no cached model "${name}"${revision === undefined ? '' : ` at revision ${revision}`} in ${path.join(home, 'models')} (see: actionclip-stream models list)`);
  for (const m of found) await rm(m.dir, { recursive: true, force: true });
  if (subdirs(path.join(home, 'models', name)).length === 0) await rm(path.join(home, 'models', name), { recursive: true, force: true });
  return found.map((m) => m.dir);
}
