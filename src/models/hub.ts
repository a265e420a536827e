/**
 * Talking to a Hugging Face hub as huggingface_hub does: `HF_ENDPOINT` (default
 * https://huggingface.co), `HF_TOKEN` as a bearer token, files at
 * `${endpoint}/${repo}/resolve/${revision}/${file}`, and a HEAD request first that reads the LFS
 * file's sha256 and size from X-Linked-Etag / X-Linked-Size before the redirect to the CDN.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetriable, WeightsError } from '../errors.js';
import { describeError, httpError } from '../model/weights/download-http.js';

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
}

export function hubResolveUrl(repo: string, revision: string, file: string, env: NodeJS.ProcessEnv = process.env): string {
  return `${hubEndpoint(env)}/${repo}/resolve/${encodeURIComponent(revision)}/${encodeURIComponent(file)}`;
}

/** Authorization for gated and private repos; fetch drops it on a redirect to another origin (the CDN). */
export function hubHeaders(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const token = env.HF_TOKEN?.trim();
  return token ? { authorization: `Bearer ${token}` } : {};
}

export interface RemoteFileInfo {
  /** Exact size in bytes, when a header says it. */
  readonly size: number | null;
  /** The LFS sha256 (X-Linked-Etag, else an ETag that is one), when the server gives it. */
  readonly sha256: string | null;
  /** The commit a branch name resolved to (X-Repo-Commit). */
  readonly commit: string | null;
}

/** An ETag that is a sha256 (LFS files); a git blob's sha1 ETag (small files) is not. */
function etagSha256(value: string | null): string | null {
  const v = value?.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase() ?? '';
  return /^[0-9a-f]{64}$/.test(v) ? v : null;
}

/** No answer at all (refused, no route, DNS): the machine is probably offline. */
export class ServerUnreachableError extends WeightsError {}

/**
 * HEAD without following the redirect to the CDN, whose headers describe the CDN's object, not
 * the file: relative redirects (a renamed repo) are followed, up to 5. A transient HTTP status
 * (502, 503...) is asked again after `retryDelayMs · 2^n`, up to `retries` times; no connection at
 * all fails at once with a ServerUnreachableError, so an offline start says so without waiting.
 */
export async function remoteFileInfo(url: string, headers: Record<string, string>, opts: { signal?: AbortSignal; retries?: number; retryDelayMs?: number } = {}): Promise<RemoteFileInfo> {
  for (let n = 0; ; n++) {
    try {
      return await headOnce(url, headers, opts.signal);
    } catch (err) {
      if (err instanceof ServerUnreachableError || !isRetriable(err) || n >= (opts.retries ?? 3)) throw err;
      await sleep((opts.retryDelayMs ?? 1000) * 2 ** n, undefined, { signal: opts.signal });
    }
  }
}

async function headOnce(url: string, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<RemoteFileInfo> {
  let target = url;
  for (let hop = 0; hop < 5; hop++) {
    let res: Response;
    try {
      res = await fetch(target, { method: 'HEAD', redirect: 'manual', headers, signal });
    } catch (err) {
      throw new ServerUnreachableError(`cannot reach the server: ${describeError(err)}`, url, undefined, { cause: err, retriable: true });
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location !== null && location.startsWith('/')) {
      target = new URL(location, target).href;
      continue;
    }
    // A server without HEAD: nothing known ahead; the download itself still works.
    if (res.status === 405 || res.status === 501) return { size: null, sha256: null, commit: null };
    if (res.status >= 400) throw httpError(res, url);
    const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length') ?? NaN);
    return {
      size: Number.isFinite(size) && size > 0 ? size : null,
      sha256: etagSha256(res.headers.get('x-linked-etag')) ?? etagSha256(res.headers.get('etag')),
      commit: res.headers.get('x-repo-commit'),
    };
  }
  throw new WeightsError('too many redirects', url);
}
