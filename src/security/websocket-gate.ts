/**
 * The checks a WebSocket upgrade passes before it completes: the browser Origin, then a viewer
 * token (from `Authorization` or the `bearer.<token>` subprotocol). A refused upgrade gets a plain
 * HTTP answer and its socket is closed: no WebSocket ever opens.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { classify, ForbiddenError } from '../errors.js';
import { APP_SUBPROTOCOL, BEARER_SUBPROTOCOL, authorize, originAllowed, type AccessPolicy } from './access.js';
import type { Principal } from './tokens.js';

export type UpgradeVerdict = { readonly ok: true; readonly principal: Principal | undefined } | { readonly ok: false; readonly status: number; readonly reason: string };

export function checkUpgrade(req: IncomingMessage, access: AccessPolicy): UpgradeVerdict {
  try {
    if (!originAllowed(req, access)) throw new ForbiddenError(`origin ${req.headers.origin} is not allowed (security.allowedOrigins)`);
    return { ok: true, principal: authorize(req, access, 'viewer') };
  } catch (err) {
    return { ok: false, status: classify(err).status, reason: (err as Error).message };
  }
}

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden' };

/** Answers a refused upgrade and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = JSON.stringify({ error: reason });
  const auth = status === 401 ? 'WWW-Authenticate: Bearer realm="actionclip-stream"\r\n' : '';
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${auth}\r\n${body}`);
}

/**
 * The subprotocol to answer with: ours when offered, never the bearer one (that would echo the
 * token in a response header). Browsers offer `['actionclip.v1', 'bearer.<token>']`.
 */
export function chooseSubprotocol(offered: Set<string>): string | false {
  if (offered.has(APP_SUBPROTOCOL)) return APP_SUBPROTOCOL;
  return [...offered].find((p) => !p.startsWith(BEARER_SUBPROTOCOL)) ?? false;
}
