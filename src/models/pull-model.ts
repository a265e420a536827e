/**
 * `models pull`: one command that finds a model's file (catalogue name or URL), downloads it into
 * the cache with resume, retries and a hash check, and records it (Ollama's `pull`).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, formatIssues, WeightsError } from '../errors.js';
import { describeError } from '../model/weights/download-http.js';
import { cliDownloadProgress } from '../model/weights/download-progress.js';
import { downloadWeights, sha256File, type DownloadOptions } from '../model/weights/download.js';
import { catalogueEntrySchema, findCatalogueEntry, type CatalogueEntry } from './catalogue.js';
import { hubHeaders, hubResolveUrl, remoteFileInfo, ServerUnreachableError, type RemoteFileInfo } from './hub.js';
import { convertCheckpoint, isTorchCheckpoint } from './convert-checkpoint.js';
import { actionclipHome, modelDir, readManifest, writeManifest, type ManifestFile, type ModelManifest } from './model-cache.js';

export interface PullOptions {
  /** Cache root; default `actionclipHome()`. */
  readonly home?: string;
  /** Cache name for a URL (default: the file name without extension). */
  readonly name?: string;
  /** Expected sha256 of a URL's file. */
  readonly sha256?: string;
  /** Status lines (what, how big, where); default: stderr. */
  readonly log?: (line: string) => void;
  /** Progress display; default: a bar on a terminal, a line per 10% otherwise (stderr). */
  readonly progress?: boolean;
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
}

export interface PulledModel {
  readonly name: string;
  readonly revision: string;
  readonly dir: string;
  readonly manifest: ModelManifest;
  /** True when it was already in the cache and nothing was downloaded. */
  readonly cached: boolean;
}

/** What to download: a catalogue entry, or an ad-hoc URL given a name. */
export function pullTarget(spec: string, opts: PullOptions = {}): CatalogueEntry {
  const home = opts.home ?? actionclipHome(opts.env);
  if (/^https?:\/\//i.test(spec)) {
    const file = decodeURIComponent(new URL(spec).pathname.split('/').pop() ?? '');
    const name = opts.name ?? file.replace(/\.[^.]+$/, '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
    if (file === '' || name === '') throw new ConfigError(`cannot name a model after ${spec}; pass --name`);
    // Validated like a catalogue entry, so a bad --name or --sha256 is named before any download.
    const parsed = catalogueEntrySchema.safeParse({ name, description: spec, url: spec, revision: 'url', file, sha256: opts.sha256?.toLowerCase() });
    if (!parsed.success) throw new ConfigError(`cannot pull ${spec}: ${formatIssues(parsed.error)}`);
    return parsed.data;
  }
  const entry = findCatalogueEntry(spec, home);
  if (entry === undefined) throw new ConfigError(`unknown model "${spec}": not a catalogue name (see: actionclip-stream models list) nor an http(s) URL`);
  return entry;
}

export const isOffline = (env: NodeJS.ProcessEnv = process.env): boolean => ['1', 'true', 'yes'].includes((env.ACTIONCLIP_OFFLINE ?? env.HF_HUB_OFFLINE ?? '').toLowerCase());

/** Where to copy a pulled model to, for a machine without network. */
export function offlineHint(name: string, dir: string): string {
  return `on a machine with network run \`actionclip-stream models pull ${name}\`, then copy its ${dir} folder to the same path here (or point ACTIONCLIP_HOME at a copy of the cache)`;
}

/**
 * Pulls a catalogue name or URL into the cache unless a complete copy is there: a HEAD first (the
 * size to announce and the hub's sha256), then the resumable, verified download, then the
 * manifest that marks the folder complete. No network is tried when offline.
 */
export async function pullModel(spec: string, opts: PullOptions = {}): Promise<PulledModel> {
  const home = opts.home ?? actionclipHome(opts.env);
  const entry = pullTarget(spec, opts);
  const dir = modelDir(home, entry.name, entry.revision);
  const have = readManifest(dir);
  if (have !== undefined) return { name: entry.name, revision: entry.revision, dir, manifest: have, cached: true };
  if (isOffline(opts.env ?? process.env)) throw new WeightsError(`model ${entry.name} is not in the cache and downloads are off (ACTIONCLIP_OFFLINE / HF_HUB_OFFLINE); ${offlineHint(entry.name, dir)}`, dir);

  const url = entry.url ?? hubResolveUrl(entry.repo!, entry.revision, entry.file, opts.env);
  const headers = entry.url === undefined ? hubHeaders(opts.env) : {};
  const info = await remoteFileInfo(url, headers, { signal: opts.signal, retries: opts.retries, retryDelayMs: opts.retryDelayMs }).catch((err: unknown) => {
    if (err instanceof ServerUnreachableError) throw new WeightsError(`cannot reach the server for model ${entry.name} (${describeError(err.cause)}); ${offlineHint(entry.name, dir)}`, url, undefined, { cause: err });
    throw err;
  });
  const expected = expectedHash(entry, info, url);
  const size = entry.size ?? info.size;
  const log = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  log(`pulling ${entry.name} (${entry.repo ?? entry.url} ${entry.file}, ${size === null ? 'size unknown' : formatBytes(size)}) into ${dir}`);
  const file = await download(url, dir, entry, { sha256: expected.sha256, headers, retries: opts.retries, retryDelayMs: opts.retryDelayMs, signal: opts.signal }, opts, log);
  const sha256 = expected.sha256 ?? (await sha256File(file));
  log(expected.sha256 === undefined ? `no published sha256 for ${entry.file}; recorded ${sha256}` : `verified ${entry.file}: sha256 ${sha256} (${expected.by})`);
  const manifest: ModelManifest = {
    name: entry.name,
    revision: entry.revision,
    source: url,
    commit: info.commit,
    ...(await storedFiles(file, sha256, log)),
    verifiedBy: expected.sha256 === undefined ? 'none' : expected.by,
    pulledAt: new Date().toISOString(),
  };
  await writeManifest(dir, manifest);
  return { name: entry.name, revision: entry.revision, dir, manifest, cached: false };
}

/** What the cache keeps: the download itself, or the safetensors pair an ActionCLIP checkpoint converts to. */
async function storedFiles(file: string, sha256: string, log: (line: string) => void): Promise<Pick<ModelManifest, 'files' | 'convertedFrom'>> {
  const downloaded: ManifestFile = { name: path.basename(file), size: statSync(file).size, sha256 };
  if (!(await isTorchCheckpoint(file))) return { files: [downloaded] };
  log(`converting ${downloaded.name} to clip.safetensors (+ fusion-<head>.safetensors) so that later loads are fast`);
  const names = await convertCheckpoint(file);
  const files = await Promise.all(
    names.map(async (name) => {
      const p = path.join(path.dirname(file), name);
      return { name, size: statSync(p).size, sha256: await sha256File(p) };
    }),
  );
  return { files, convertedFrom: downloaded };
}

/** The catalogue's hash wins; the hub's must agree with it (else the hub serves another file now). */
function expectedHash(entry: CatalogueEntry, info: RemoteFileInfo, url: string): { sha256?: string; by: 'catalogue' | 'hub' } {
  if (entry.sha256 !== undefined && info.sha256 !== null && entry.sha256 !== info.sha256) {
    const fix = entry.repo === undefined ? 'check the --sha256 given' : `the catalogue entry is out of date, or pin a revision with ${entry.name}@<commit>`;
    throw new WeightsError(`the server now serves another ${entry.file} (sha256 ${info.sha256}) than expected for ${entry.name} (sha256 ${entry.sha256}); ${fix}`, url);
  }
  if (entry.sha256 !== undefined) return { sha256: entry.sha256, by: 'catalogue' };
  return info.sha256 === null ? { by: 'hub' } : { sha256: info.sha256, by: 'hub' };
}

async function download(url: string, dir: string, entry: CatalogueEntry, dl: DownloadOptions, opts: PullOptions, log: (line: string) => void): Promise<string> {
  const bar = opts.progress === false ? undefined : cliDownloadProgress(entry.name);
  let file: string;
  try {
    file = await downloadWeights(url, dir, {
      ...dl,
      fileName: entry.file,
      onProgress: bar?.onProgress,
      onRetry: ({ attempt, delayMs, error }) => log(`${entry.name}: ${error.message}; retry ${attempt} in ${(delayMs / 1000).toFixed(1)} s (resuming)`),
      onWait: () => log(`${entry.name}: another process is downloading ${entry.file} into ${dir}; waiting for it`),
    });
  } catch (err) {
    bar?.stop();
    if (err instanceof WeightsError && err.retriable) log(`${entry.name}: the download stopped; what arrived is kept in ${path.join(dir, `${entry.file}.part`)}: run \`actionclip-stream models pull ${entry.name}\` again to resume it`);
    throw err;
  }
  bar?.stop();
  return file;
}

export function formatBytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
}
