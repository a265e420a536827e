/**
 * Who may reach what, for the HTTP API and the WebSocket endpoint alike: bearer tokens with roles,
 * and the browser Origin check. One place, so the two surfaces cannot drift apart.
 */
import type { IncomingMessage } from 'node:http';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import { hasRole, type Principal, type Role, type TokenStore } from './tokens.js';

export interface AccessPolicy {
  /** Undefined: no tokens configured; the service then listens on loopback only and trusts its callers. */
  readonly tokens?: TokenStore;
  /** `/metrics` needs a viewer token (default: open, for Prometheus on a private network). */
  readonly metricsRequireToken?: boolean;
  /** Origins (scheme://host[:port]) besides the service's own that browsers may call from. */
  readonly allowedOrigins?: readonly string[];
}

/** What a request needs: nothing, or a token of at least this role. */
export type Requirement = 'open' | Role;

/** Whoever calls when no tokens are configured (loopback only): trusted with everything. */
export const LOCAL_PRINCIPAL: Principal = { name: 'local', role: 'admin' };

/** Browsers cannot set headers on a WebSocket: they offer the token as the subprotocol `bearer.<token>`. */
export const BEARER_SUBPROTOCOL = 'bearer.';
/** The subprotocol the server answers with (never the token itself). */
export const APP_SUBPROTOCOL = 'actionclip.v1';

/** The token from `Authorization: Bearer …` or, for browsers' WebSockets, the `bearer.…` subprotocol. */
export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m === null ? '' : m[1];
  }
  const protocols = req.headers['sec-websocket-protocol'];
  if (protocols === undefined) return undefined;
  const offered = protocols.split(',').map((p) => p.trim());
  return offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL))?.slice(BEARER_SUBPROTOCOL.length);
}

/** Who the request's token belongs to, if anyone (for the audit log, also when the request is refused). */
export function identify(req: IncomingMessage, policy: AccessPolicy): Principal | undefined {
  if (policy.tokens === undefined) return LOCAL_PRINCIPAL;
  const token = presentedToken(req);
  return token === undefined || token === '' ? undefined : policy.tokens.authenticate(token);
}

/**
 * Whether an identified caller may do what needs `needed`, for HTTP routes and WebSocket messages
 * alike. @throws UnauthorizedError without a valid token (`presented`: whether one came at all),
 * ForbiddenError when the token's role is below `needed`. Without tokens configured, anyone may.
 */
export function requireRole(principal: Principal | undefined, needed: Requirement, policy: AccessPolicy, presented = true): void {
  if (needed === 'open' || policy.tokens === undefined) return;
  if (!presented) throw new UnauthorizedError('a bearer token is required (Authorization: Bearer <token>)');
  if (principal === undefined) throw new UnauthorizedError('the bearer token is not valid');
  if (!hasRole(principal, needed)) throw new ForbiddenError(`${principal.name} (${principal.role}) may not do this: it needs the ${needed} role`);
}

/** The caller, if allowed (see requireRole); undefined on an open requirement without a valid token. */
export function authorize(req: IncomingMessage, policy: AccessPolicy, needed: Requirement): Principal | undefined {
  const principal = identify(req, policy);
  requireRole(principal, needed, policy, presentedToken(req) !== undefined);
  return principal;
}

/** The service's own origin as the browser sees it (from the Host header). */
function ownOrigin(req: IncomingMessage): string | undefined {
  const host = req.headers.host;
  if (host === undefined) return undefined;
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
  return `${tls ? 'https' : 'http'}://${host}`.toLowerCase();
}

/**
 * Whether a request may come from its Origin. Non-browser clients send none and pass (their token
 * is what protects them); a browser page passes only from the service's own origin or a configured one.
 */
export function originAllowed(req: IncomingMessage, policy: AccessPolicy): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const o = origin.toLowerCase();
  return o === ownOrigin(req) || (policy.allowedOrigins ?? []).some((a) => a.toLowerCase() === o);
}

/** Whether CORS headers may name this origin (configured ones only; same-origin needs none). */
export function corsOrigin(req: IncomingMessage, policy: AccessPolicy): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  return (policy.allowedOrigins ?? []).find((a) => a.toLowerCase() === origin.toLowerCase());
}
