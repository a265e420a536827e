/** The service's HTTP API as the page calls it: the session's token on every request, errors with the API's own words. */

const TOKEN_KEY = 'actionclip.token';

/** The token lives in session storage: gone when the tab closes, never in a cookie the browser sends by itself. */
export function savedToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function saveToken(token: string): void {
  if (token === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** One problem the API named: `field` is the body's key path (`labels.3`, `url`). */
export interface Issue {
  readonly field: string;
  readonly message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues: readonly Issue[] = [],
  ) {
    super(message);
  }

  /** The messages about `field` and the keys below it; the whole error when no issue names a field. */
  about(field: string): string[] {
    return this.issues.filter((i) => i.field === field || i.field.startsWith(`${field}.`)).map((i) => `${i.field}: ${i.message}`);
  }
}

function headers(body: boolean): Record<string, string> {
  const token = savedToken();
  return { ...(token === '' ? {} : { authorization: `Bearer ${token}` }), ...(body ? { 'content-type': 'application/json' } : {}) };
}

/** JSON in, JSON out; throws ApiError with the API's `error` and `issues`. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 204) return undefined as T;
  // Errors are JSON too, except what a proxy in front may answer: then its status line is the message.
  const json: unknown = (res.headers.get('content-type') ?? '').includes('application/json') ? await res.json() : undefined;
  if (!res.ok) {
    const e = (json ?? {}) as { error?: string; issues?: Issue[] };
    throw new ApiError(res.status, e.error ?? `${res.status} ${res.statusText}`, e.issues ?? []);
  }
  return json as T;
}

/** A camera's newest frame as an object URL (revoke it when replaced), or undefined before its first frame. */
export async function snapshotUrl(camera: string): Promise<string | undefined> {
  const res = await fetch(`/cameras/${encodeURIComponent(camera)}/snapshot`, { headers: headers(false) });
  if (res.status !== 200) return undefined;
  return URL.createObjectURL(await res.blob());
}

/** `/ws` on this page's host; a browser cannot set headers on a WebSocket, so the token rides as a subprotocol. */
export function openSocket(): WebSocket {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const token = savedToken();
  return new WebSocket(`${scheme}://${location.host}/ws`, token === '' ? ['actionclip.v1'] : ['actionclip.v1', `bearer.${token}`]);
}
