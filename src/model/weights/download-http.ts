import { WeightsError } from '../../errors.js';

export type Body = NonNullable<Response['body']>;

export interface OpenedDownload {
  /** null when the file is already complete (the server answered 416 to a Range past its end). */
  readonly body: Body | null;
  /** Byte offset the body starts at: the requested one on a 206, 0 when the server sent it all. */
  readonly start: number;
  /** Size of the whole file when the server says it, else null. */
  readonly total: number | null;
}

export interface OpenOptions {
  readonly headers?: Record<string, string>;
  /** Ask for the bytes from here on (HTTP Range), to resume a `.part` file. */
  readonly from: number;
  readonly signal?: AbortSignal;
}

/** Statuses worth trying again: the server or something in between is busy or failing for now. */
const TRANSIENT = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * GETs `url` (redirects followed), from byte `from` on when it is above 0. A 206 must say in
 * Content-Range that it starts where we asked; a 200 means the server ignored the Range and sends
 * the file from its start, which the caller handles by rewriting the part file.
 */
export async function openDownload(url: string, opts: OpenOptions): Promise<OpenedDownload> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.from > 0) headers.range = `bytes=${opts.from}-`;
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', headers, signal: opts.signal });
  } catch (err) {
    throw new WeightsError(`download failed: ${describeError(err)}`, url, undefined, { cause: err, retriable: opts.signal?.aborted !== true });
  }
  if (res.status === 416 && opts.from > 0) {
    await res.body?.cancel().catch(() => undefined);
    const whole = contentRangeTotal(res.headers.get('content-range'));
    if (whole === opts.from) return { body: null, start: opts.from, total: whole };
    throw new WeightsError(`the server refused to resume at byte ${opts.from} (HTTP 416)`, url);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw httpError(res, url);
  }
  if (res.body === null) throw new WeightsError('download failed: the response has no body', url);
  if (res.status === 206) return { body: res.body, start: checkedRangeStart(res, opts.from, url), total: contentRangeTotal(res.headers.get('content-range')) };
  return { body: res.body, start: 0, total: bodyLength(res) };
}

/** An HTTP error that says what to do: a token for 401/403, and whether trying later can help. */
export function httpError(res: Response, url: string): WeightsError {
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  if (res.status === 401 || res.status === 403) {
    const hint = process.env.HF_TOKEN ? 'HF_TOKEN is set but was not accepted for this file' : 'the file is gated or private: set HF_TOKEN to a Hugging Face access token that may read it';
    return new WeightsError(`download refused: ${status}; ${hint}`, url);
  }
  return new WeightsError(`download failed: ${status}`, url, undefined, { retriable: TRANSIENT.has(res.status) });
}

function checkedRangeStart(res: Response, from: number, url: string): number {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
  if (m === null || Number(m[1]) !== from) {
    throw new WeightsError(`the server answered a resume at byte ${from} with Content-Range ${JSON.stringify(res.headers.get('content-range'))}`, url);
  }
  return from;
}

/** The `/total` of a Content-Range (`bytes 0-9/100`, or `bytes *\/100` on a 416). */
function contentRangeTotal(header: string | null): number | null {
  const m = /\/(\d+)$/.exec(header ?? '');
  return m === null ? null : Number(m[1]);
}

function bodyLength(res: Response): number | null {
  const encoding = res.headers.get('content-encoding');
  const len = Number(res.headers.get('content-length') ?? NaN);
  // fetch decodes gzip/br transparently, so Content-Length then counts different bytes.
  return Number.isFinite(len) && (encoding === null || encoding === 'identity') ? len : null;
}

/** fetch errors hide the useful part (ECONNREFUSED, "other side closed") in `cause`. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  const inner = cause instanceof Error ? ` (${(cause as NodeJS.ErrnoException).code ?? cause.message})` : '';
  return `${err.message}${inner}`;
}
