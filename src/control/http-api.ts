import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { classify, ForbiddenError } from '../errors.js';
import { corsOrigin, identify, originAllowed, presentedToken, requireRole, type AccessPolicy, type Requirement } from '../security/access.js';
import type { AuditLog } from '../security/audit.js';
import type { Principal } from '../security/tokens.js';
import type { Metrics } from '../observability/metrics.js';
import type { ControlPlane } from './control-plane.js';
import { findDashboardDir } from './dashboard-assets.js';
import { RequestError, send } from './http-io.js';
import { route } from './http-routes.js';

export { jsonDepth } from './http-io.js';

export interface HttpApiOptions {
  readonly control: ControlPlane;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /** Largest request body accepted. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** The server to answer on (an https one from createControlServer); default a plain node:http one. */
  readonly server?: Server;
  /** Tokens, roles and origins. Absent: every route is open (the service then listens on loopback only). */
  readonly access?: AccessPolicy;
  /** Where control actions (accepted and refused) are recorded. */
  readonly audit?: AuditLog;
  /** A client must send its headers within this (slowloris). Default 10 s. */
  readonly headersTimeoutMs?: number;
  /** ... and its whole request within this. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** The built dashboard served at `/`. Default: this package's dist/dashboard when built; null: none. */
  readonly dashboardDir?: string | null;
}

/** What each route needs: reading is for viewers, the vocabulary for operators, cameras for admins. */
function requirement(method: string, parts: readonly string[], access: AccessPolicy): Requirement {
  // The dashboard's files hold no data (the page asks for a token before it reads anything), and `me` says who the token is.
  if (parts.length === 0 || parts[0] === 'dashboard' || parts[0] === 'me') return 'open';
  if (parts[0] === 'health' || parts[0] === 'ready') return 'open';
  if (parts[0] === 'metrics') return access.metricsRequireToken === true ? 'viewer' : 'open';
  if (method === 'GET' || method === 'HEAD') return 'viewer';
  return parts[0] === 'vocabulary' ? 'operator' : 'admin';
}

/** The audit name of a control action, or undefined for reads. */
function actionOf(method: string, parts: readonly string[]): string | undefined {
  if (parts[0] === 'vocabulary' && parts.length === 1 && method === 'PUT') return 'vocabulary.update';
  if (parts[0] === 'cameras' && parts.length === 1 && method === 'POST') return 'camera.add';
  if (parts[0] === 'cameras' && parts.length === 2 && method === 'DELETE') return `camera.remove`;
  return undefined;
}

/**
 * The control API on node:http (a dozen routes need no framework):
 *
 *   GET    /health                 liveness: the process answers (200); `status` is `degraded` while
 *                                  a camera does not stream, a Kafka client is not connected or a
 *                                  sink falls behind, `degraded` says which and why (src/control/health.ts)
 *   GET    /ready                  200 once the model is loaded and a vocabulary is encoded, else 503
 *   GET    /cameras                [{id, url (redacted), state}]
 *   POST   /cameras                {id, url} -> 201
 *   DELETE /cameras/:id            204 | 404
 *   GET    /cameras/:id/preview    {camera, wsPort} when the preview relay is enabled
 *   GET    /vocabulary             {version, labels, templates}
 *   PUT    /vocabulary             {labels, templates?} -> {version}
 *   GET    /cameras/:id/snapshot   the camera's newest frame as a JPEG (204 when there is none)
 *   GET    /events?since=<ms>      recent windows and events (each event's newest message; last 2 h, at most 20 000), oldest first
 *   GET    /vocabulary/history     the versions applied so far [{version, labels, templates, createdAt}]
 *   POST   /vocabulary/try         {labels, templates?} -> each camera's newest window scored against
 *                                  this draft ({labels, templates, cameras}); nothing is applied
 *   GET    /metrics                Prometheus text format
 *   GET    /metrics/json           the same series as prom-client JSON
 *   GET    /me                     {tokens, name?, role?}: who the presented token belongs to (open)
 *   GET    /, /dashboard/:file     the dashboard (open: static files, no data)
 *
 * Errors are JSON `{error, issues?}`; 400s name the offending field. With tokens configured,
 * /health, /ready, /me and the dashboard's files are open, /metrics is open unless `metricsRequireToken`, reads need a viewer
 * token, the vocabulary an operator's and cameras an admin's (401 without a valid token, 403 below
 * the role). Control actions, accepted or refused, go to the audit log.
 */
export function createHttpApi(opts: HttpApiOptions): Server {
  const dashboardDir = opts.dashboardDir === null ? undefined : (opts.dashboardDir ?? findDashboardDir());
  const options = httpServerOptions(opts);
  const server = opts.server ?? createServer(options);
  // A server made elsewhere gets the same timeouts (its checking interval is its maker's to set).
  server.headersTimeout = options.headersTimeout!;
  server.requestTimeout = options.requestTimeout!;
  return server.on('request', (req: IncomingMessage, res: ServerResponse) => serve(opts, dashboardDir, req, res));
}

/**
 * Slowloris: a client that trickles its headers or body is cut off, never holds a socket for ever.
 * Node checks those timeouts every connectionsCheckingInterval (30 s by default): check often enough.
 * A server made elsewhere (HTTPS) should be made with these options.
 */
export function httpServerOptions(o: Pick<HttpApiOptions, 'headersTimeoutMs' | 'requestTimeoutMs'>): ServerOptions {
  const headersTimeout = o.headersTimeoutMs ?? 10_000;
  return { headersTimeout, requestTimeout: o.requestTimeoutMs ?? 30_000, connectionsCheckingInterval: Math.min(1000, headersTimeout) };
}

/** One request: the origin and role checks, the route, the audit record, errors as JSON. */
function serve(opts: HttpApiOptions, dashboardDir: string | undefined, req: IncomingMessage, res: ServerResponse): void {
  const access = opts.access ?? {};
  let url: URL;
  let parts: string[];
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
    parts = url.pathname.split('/').filter((p) => p.length > 0).map(decodeURIComponent);
  } catch {
    return send(res, 400, { error: 'malformed request path' });
  }
  const method = req.method ?? 'GET';
  const cors = corsOrigin(req, access);
  if (cors !== undefined) res.setHeader('access-control-allow-origin', cors).setHeader('vary', 'origin');
  if (method === 'OPTIONS' && cors !== undefined) return preflight(res);
  const action = actionOf(method, parts);
  const audit = (principal: Principal | undefined, outcome: 'accepted' | 'refused', reason?: string, target = parts[1]): void => {
    if (action === undefined || opts.audit === undefined) return;
    opts.audit.record({ principal, action, target, outcome, reason, address: req.socket.remoteAddress, via: 'http' });
  };
  let principal: Principal | undefined;
  const handle = async (): Promise<void> => {
    principal = identify(req, access);
    if (!originAllowed(req, access)) throw new ForbiddenError(`origin ${req.headers.origin} is not allowed (security.allowedOrigins)`);
    requireRole(principal, requirement(method, parts, access), access, presentedToken(req) !== undefined);
    const context = { ...opts, req, res, url, parts, method, maxBodyBytes: opts.maxBodyBytes ?? 1 << 20, principal, tokens: access.tokens !== undefined, dashboardDir };
    const target = await route(context);
    audit(principal, 'accepted', undefined, target ?? undefined);
  };
  handle().catch((err: unknown) => {
    audit(principal, 'refused', (err as Error).message);
    sendError(opts, res, url, err);
  });
}

/** An error as JSON with the status its type says (a RequestError's own); 500s hide their cause. */
function sendError(opts: HttpApiOptions, res: ServerResponse, url: URL, err: unknown): void {
  const { status, kind } = classify(err);
  if (kind === 'internal') opts.logger?.error({ err, path: url.pathname }, 'http handler failed');
  const body =
    err instanceof RequestError
      ? { error: err.message, ...(err.details === undefined ? {} : { issues: err.details }) }
      : { error: kind === 'internal' ? 'internal error' : (err as Error).message };
  if (res.headersSent) return void res.end();
  if (kind === 'unauthorized') res.setHeader('www-authenticate', 'Bearer realm="actionclip-stream"');
  send(res, err instanceof RequestError ? err.status : status, body);
}

/** CORS preflight for a configured origin. */
function preflight(res: ServerResponse): void {
  res.writeHead(204, { 'access-control-allow-methods': 'GET, POST, PUT, DELETE', 'access-control-allow-headers': 'authorization, content-type', 'access-control-max-age': '600' });
  res.end();
}

/** Starts listening; resolves with the port actually bound (`port` may be 0). */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as import('node:net').AddressInfo).port;
}

/** Closes the server and every connection still open on it (keep-alive clients would hold it open). */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
