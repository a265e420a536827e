import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { WeightsError } from '../../errors.js';

export interface DownloadProgress {
  /** Bytes written so far. */
  readonly received: number;
  /** Content-Length when the server sent one (and no content encoding changed it). */
  readonly total: number | null;
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
}

/**
 * Downloads a weights file into `destDir` and returns its path. The body goes to a temporary
 * file in the same directory that is renamed into place only once complete (and verified), so
 * an interrupted download never leaves a file that looks finished. An existing file is reused
 * (after a hash check when `sha256` is given) unless `overwrite`.
 */
export async function downloadWeights(url: string, destDir: string, opts: DownloadOptions = {}): Promise<string> {
  const name = opts.fileName ?? fileNameFromUrl(url);
  if (name === '' || name === '.' || name === '..' || /[/\\]/.test(name)) {
    throw new WeightsError(`cannot derive a file name from the URL; pass fileName`, url);
  }
  const want = opts.sha256?.toLowerCase();
  if (want !== undefined && !/^[0-9a-f]{64}$/.test(want)) throw new WeightsError(`sha256 must be 64 hex digits, got ${JSON.stringify(opts.sha256)}`, url);
  await mkdir(destDir, { recursive: true }).catch((err: unknown) => {
    throw new WeightsError(`cannot create the download directory: ${describe(err)}`, destDir, undefined, { cause: err });
  });
  const dest = path.join(destDir, name);

  if (!opts.overwrite && (await isFile(dest))) {
    if (want === undefined || (await sha256File(dest)) === want) return dest;
    // A stale or different file under that name: replace it.
  }

  const tmp = path.join(destDir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  try {
    const { body, total } = await openDownload(url, opts.signal);
    const got = await writeBody(body, tmp, total, url, opts.onProgress);
    if (want !== undefined && got !== want) throw new WeightsError(`sha256 mismatch: expected ${want}, got ${got}`, url);
    await rename(tmp, dest);
    return dest;
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if (err instanceof WeightsError) throw err;
    throw new WeightsError(`download failed: ${describe(err)}`, url, undefined, { cause: err });
  }
}

type Body = NonNullable<Response['body']>;

/** The response body, and its length when the server says it in the bytes we will receive. */
async function openDownload(url: string, signal: AbortSignal | undefined): Promise<{ body: Body; total: number | null }> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal });
  } catch (err) {
    throw new WeightsError(`download failed: ${describe(err)}`, url, undefined, { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new WeightsError(`download failed: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, url);
  }
  if (res.body === null) throw new WeightsError('download failed: the response has no body', url);
  const encoding = res.headers.get('content-encoding');
  const len = Number(res.headers.get('content-length') ?? NaN);
  // fetch decodes gzip/br transparently, so Content-Length then counts different bytes.
  return { body: res.body, total: Number.isFinite(len) && (encoding === null || encoding === 'identity') ? len : null };
}

/** Streams `body` into `tmp`, hashing as it goes; returns the sha256 in hex. */
async function writeBody(body: Body, tmp: string, total: number | null, url: string, onProgress: DownloadOptions['onProgress']): Promise<string> {
  const hash = createHash('sha256');
  let received = 0;
  const fh = await open(tmp, 'w');
  try {
    onProgress?.({ received, total });
    for await (const chunk of body) {
      hash.update(chunk);
      await fh.write(chunk);
      received += chunk.byteLength;
      onProgress?.({ received, total });
    }
    await fh.sync();
  } catch (err) {
    throw new WeightsError(`download interrupted after ${received}${total === null ? '' : ` of ${total}`} bytes: ${describe(err)}`, url, undefined, { cause: err });
  } finally {
    await fh.close();
  }
  if (total !== null && received !== total) throw new WeightsError(`download incomplete: got ${received} of ${total} bytes`, url);
  return hash.digest('hex');
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

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** fetch errors hide the useful part (ECONNREFUSED, "other side closed") in `cause`. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  const inner = cause instanceof Error ? ` (${(cause as NodeJS.ErrnoException).code ?? cause.message})` : '';
  return `${err.message}${inner}`;
}

/**
 * A terminal progress bar for downloadWeights (stderr, so stdout stays machine-readable).
 * Nothing is drawn when the stream is not a terminal (logs stay clean) unless `noTTYOutput`.
 * Call `stop()` when the download settles, whether it succeeded or not.
 */
export function cliDownloadProgress(
  label = 'downloading',
  opts: { stream?: NodeJS.WritableStream; noTTYOutput?: boolean } = {},
): {
  onProgress: (p: DownloadProgress) => void;
  stop: () => void;
} {
  const mb = (n: number): string => (n / 1048576).toFixed(1);
  const bar = new cliProgress.SingleBar(
    {
      stream: opts.stream ?? process.stderr,
      noTTYOutput: opts.noTTYOutput ?? false,
      format: (options, params, payload: { received?: string; total?: string }) =>
        params.total > 0
          ? `${label} [${cliProgress.Format.BarFormat(params.progress, options)}] ${Math.floor(params.progress * 100)}% ${payload.received ?? ''}/${payload.total ?? ''} MB`
          : `${label} ${payload.received ?? '0.0'} MB`,
      hideCursor: null,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: ({ received, total }) => {
      if (!started) {
        bar.start(total ?? 0, received, { received: mb(received), total: total === null ? '?' : mb(total) });
        started = true;
      } else bar.update(received, { received: mb(received), total: total === null ? '?' : mb(total) });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
