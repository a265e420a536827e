import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetriable, WeightsError } from '../../errors.js';
import { describeError, openDownload, type OpenedDownload } from './download-http.js';
import { withFileLock } from './download-lock.js';

export interface DownloadProgress {
  /** Bytes of the file on disk so far (a resumed download starts at `resumedFrom`). */
  readonly received: number;
  /** Size of the whole file when the server said it, else null. */
  readonly total: number | null;
  /** Bytes that were already there from an earlier, interrupted attempt. */
  readonly resumedFrom: number;
}

export interface DownloadOptions {
  onProgress?: (p: DownloadProgress) => void;
  /** Expected SHA-256 (hex); a mismatch deletes the download and fails. */
  sha256?: string;
  /** Name under destDir; default: the last segment of the URL path. */
  fileName?: string;
  /** Download again even when the file is already there. */
  overwrite?: boolean;
  signal?: AbortSignal;
  /** Sent with every request (an Authorization header for gated files). */
  headers?: Record<string, string>;
  /** Attempts after the first one for transient faults (a cut connection, a 5xx). Default 5. */
  retries?: number;
  /** Wait before the first retry; it doubles on each one. Default 1000 ms. */
  retryDelayMs?: number;
  /** Told before each retry (a log line). */
  onRetry?: (info: { attempt: number; delayMs: number; error: Error }) => void;
  /** Told when another process holds the download's lock and this one waits for it. */
  onWait?: () => void;
}

/**
 * Downloads a weights file into `destDir` and returns its path. The body goes to `<name>.part`
 * beside it, renamed into place only once complete and verified, so an interrupted download never
 * leaves a file that looks finished; the next attempt (a retry here, or a later call) resumes the
 * part with an HTTP Range request. An existing file is reused (after a hash check when `sha256`
 * is given) unless `overwrite`.
 */
export async function downloadWeights(url: string, destDir: string, opts: DownloadOptions = {}): Promise<string> {
  const name = targetName(url, opts.fileName);
  const want = opts.sha256?.toLowerCase();
  if (want !== undefined && !/^[0-9a-f]{64}$/.test(want)) throw new WeightsError(`sha256 must be 64 hex digits, got ${JSON.stringify(opts.sha256)}`, url);
  await mkdir(destDir, { recursive: true }).catch((err: unknown) => {
    throw new WeightsError(`cannot create the download directory: ${describeError(err)}`, destDir, undefined, { cause: err });
  });
  const dest = path.join(destDir, name);
  const reusable = async (): Promise<boolean> => !opts.overwrite && (await isFile(dest)) && (want === undefined || (await sha256File(dest)) === want);
  if (await reusable()) return dest;
  // Another process may be downloading the same file: wait for it, then use what it wrote.
  return withFileLock(`${dest}.lock`, async () => ((await reusable()) ? dest : fetchVerified(url, dest, want, opts)), {
    signal: opts.signal,
    onWait: opts.onWait,
  });
}

/** Downloads (resuming `<dest>.part`), checks the sha256, and renames the part into place. */
async function fetchVerified(url: string, dest: string, want: string | undefined, opts: DownloadOptions): Promise<string> {
  const part = `${dest}.part`;
  if (opts.overwrite) await rm(part, { force: true });
  let got = await withRetries(() => fetchIntoPart(url, part, opts), opts);
  if (want !== undefined && got.sha !== want && got.resumed) {
    // The part may hold the start of another version of the file: start again from byte 0, once.
    await rm(part, { force: true });
    got = await withRetries(() => fetchIntoPart(url, part, opts), opts);
  }
  if (want !== undefined && got.sha !== want) {
    await unlink(part).catch(() => undefined);
    throw new WeightsError(`sha256 mismatch: expected ${want}, got ${got.sha}; the download was deleted`, url);
  }
  await rename(part, dest);
  return dest;
}

/** Runs `attempt` again after a retriable fault, waiting `retryDelayMs · 2^n` in between. */
async function withRetries<T>(attempt: () => Promise<T>, opts: DownloadOptions): Promise<T> {
  const retries = opts.retries ?? 5;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= retries || !isRetriable(err) || opts.signal?.aborted === true) throw err;
      const delayMs = (opts.retryDelayMs ?? 1000) * 2 ** n;
      opts.onRetry?.({ attempt: n + 1, delayMs, error: err as Error });
      await sleep(delayMs, undefined, { signal: opts.signal });
    }
  }
}

/** One request: resumes the part file where it stops, returns the sha256 of the whole file. */
async function fetchIntoPart(url: string, part: string, opts: DownloadOptions): Promise<{ sha: string; resumed: boolean }> {
  const have = (await isFile(part)) ? (await stat(part)).size : 0;
  const res = await openDownload(url, { headers: opts.headers, from: have, signal: opts.signal });
  const hash = createHash('sha256');
  if (res.start > 0) await hashFileInto(part, hash);
  if (res.body === null) opts.onProgress?.({ received: res.start, total: res.total, resumedFrom: res.start });
  else await writeBody(res, part, hash, url, opts.onProgress);
  return { sha: hash.digest('hex'), resumed: res.start > 0 };
}

/** Streams the body into the part file (appending on a resume), hashing as it goes. */
async function writeBody(res: OpenedDownload, part: string, hash: Hash, url: string, onProgress: DownloadOptions['onProgress']): Promise<void> {
  const { start, total } = res;
  let received = start;
  const fh = await open(part, start > 0 ? 'a' : 'w');
  try {
    onProgress?.({ received, total, resumedFrom: start });
    for await (const chunk of res.body!) {
      hash.update(chunk);
      await fh.write(chunk);
      received += chunk.byteLength;
      onProgress?.({ received, total, resumedFrom: start });
    }
    await fh.sync();
  } catch (err) {
    // A cut connection: what arrived stays in the part file for the next attempt to resume.
    throw new WeightsError(`download interrupted after ${received}${total === null ? '' : ` of ${total}`} bytes: ${describeError(err)}`, url, undefined, { cause: err, retriable: true });
  } finally {
    await fh.close();
  }
  if (total !== null && received !== total) throw new WeightsError(`download incomplete: got ${received} of ${total} bytes`, url, undefined, { retriable: true });
}

function targetName(url: string, fileName: string | undefined): string {
  const name = fileName ?? fileNameFromUrl(url);
  if (name === '' || name === '.' || name === '..' || /[/\\]/.test(name)) {
    throw new WeightsError(`cannot derive a file name from the URL; pass fileName`, url);
  }
  return name;
}

function fileNameFromUrl(url: string): string {
  try {
    const segs = new URL(url).pathname.split('/');
    return decodeURIComponent(segs[segs.length - 1] ?? '');
  } catch {
    return '';
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function hashFileInto(file: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFileInto(file, hash);
  return hash.digest('hex');
}
