/**
 * Model names → where their weights are (open_clip's pretrained registry, Ollama's library). The
 * built-in entries can be extended by `$ACTIONCLIP_HOME/models.json` (a JSON array of entries, for
 * instance an ActionCLIP `.pt` checkpoint URL), validated with the same schema.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, formatIssues } from '../errors.js';

const SHA256 = /^[0-9a-f]{64}$/;

export const catalogueEntrySchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-"'),
    description: z.string().min(1),
    /** A Hugging Face repo (`owner/name`), fetched through `${HF_ENDPOINT}/<repo>/resolve/<revision>/<file>`. */
    repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/name').optional(),
    revision: z.string().min(1).default('main'),
    /** A direct download URL instead of a repo (an ActionCLIP checkpoint on a release page). */
    url: z.url().optional(),
    /** The file in the repo (or the name to save a URL's download under). */
    file: z.string().regex(/^[^/\\]+$/, 'a file name without folders'),
    /** Exact size in bytes, when the hub publishes it; otherwise the hub's header says it at pull time. */
    size: z.number().int().positive().optional(),
    /** SHA-256 of the file (the LFS oid), when published; otherwise the hub's X-Linked-Etag is used. */
    sha256: z.string().regex(SHA256, '64 lower-case hex digits').optional(),
  })
  .refine((e) => (e.repo === undefined) !== (e.url === undefined), { message: 'give exactly one of repo and url' });

export type CatalogueEntry = z.infer<typeof catalogueEntrySchema>;

/**
 * OpenAI's CLIP ViTs as Hugging Face publishes them (`CLIPModel` safetensors, which the loader maps
 * to OpenAI names). ViT-L/14's size and LFS oid were read from Git LFS pointers of copies of
 * openai/clip-vit-large-patch14's model.safetensors (InvokeAI's "Copy from openai/…", and others:
 * all the same oid); for ViT-B/32 and ViT-B/16 no pointer of the main branch was found, so their
 * sha256 is left out and the download is verified against the hub's X-Linked-Etag (the LFS
 * sha256) instead, and the exact size comes from X-Linked-Size.
 */
export const BUILTIN_CATALOGUE: readonly CatalogueEntry[] = [
  { name: 'vit-b-32', description: 'CLIP ViT-B/32 (OpenAI), about 605 MB', repo: 'openai/clip-vit-base-patch32', revision: 'main', file: 'model.safetensors' },
  { name: 'vit-b-16', description: 'CLIP ViT-B/16 (OpenAI), about 599 MB', repo: 'openai/clip-vit-base-patch16', revision: 'main', file: 'model.safetensors' },
  {
    name: 'vit-l-14',
    description: 'CLIP ViT-L/14 (OpenAI), 1.71 GB',
    repo: 'openai/clip-vit-large-patch14',
    revision: 'main',
    file: 'model.safetensors',
    size: 1_710_540_580,
    sha256: 'a2bf730a0c7debf160f7a6b50b3aaf3703e7e88ac73de7a314903141db026dcb',
  },
].map((e) => catalogueEntrySchema.parse(e));

export const USER_CATALOGUE_FILE = 'models.json';

/** Built-in entries, then the user's (`<home>/models.json`), which may add names but not redefine one. */
export function loadCatalogue(home: string): CatalogueEntry[] {
  const file = path.join(home, USER_CATALOGUE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [...BUILTIN_CATALOGUE];
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = z.array(catalogueEntrySchema).safeParse(doc);
  if (!parsed.success) throw new ConfigError(`${file}: ${formatIssues(parsed.error)}`);
  const taken = parsed.data.find((e) => BUILTIN_CATALOGUE.some((b) => b.name === e.name));
  if (taken !== undefined) throw new ConfigError(`${file}: "${taken.name}" is a built-in model name; choose another`);
  return [...BUILTIN_CATALOGUE, ...parsed.data];
}

/** `name` or `name@revision`; undefined when the name is not in the catalogue. */
export function findCatalogueEntry(spec: string, home: string): CatalogueEntry | undefined {
  const [name, revision] = spec.split('@', 2);
  const entry = loadCatalogue(home).find((e) => e.name === name);
  return entry === undefined || revision === undefined || revision === '' ? entry : { ...entry, revision };
}
