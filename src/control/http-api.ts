import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CameraSchema, VocabularyUpdateSchema, type CameraConfig, type VocabularyUpdate } from '../../config/schema.js';
import { classify, ConfigError, ForbiddenError, issueList, NotFoundError, NotReadyError } from '../errors.js';
import { corsOrigin, identify, originAllowed, presentedToken, requireRole, type AccessPolicy, type Requirement } from '../security/access.js';
import type { AuditLog } from '../security/audit.js';
import type { Principal } from '../security/tokens.js';
import type { Metrics } from '../observability/metrics.js';
import type { ControlPlane } from './control-plane.js';
import { assessHealth } from './health.js';

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
}

/** Deepest JSON nesting a body may have: no control body needs more, and deep nesting is a parser attack. */
const MAX_JSON_DEPTH = 16;

/** What each route needs: reading is for viewers, the vocabulary for operators, cameras for admins. */
function requirement(method: string, parts: readonly string[], access: AccessPolicy): Requirement {
  if (parts[0] === 'health' || parts[0] === 'ready') return 'open';
  if (parts[0] === 'metrics') return access.metricsRequireToken === true ? 'viewer' : 'open';
  if (method === 'GET' || method === 'HEAD') return 'viewer';
  return parts[0] === 'vocabulary' ? 'operator' : 'admin';
}

/** The audit name of a control action, or undefined for reads. */
function actionOf(method: string, parts: readonly string[]): string | undefined {
  if (parts[0] === 'vocabulary' && method === 'PUT') return 'vocabulary.update';
  if (parts[0] === 'cameras' && parts.length === 1 && method === 'POST') return 'camera.add';
  if (parts[0] === 'cameras' && parts.length === 2 && method === 'DELETE') return `camera.remove`;
  return undefined;
}

/** A request the protocol itself refuses (body too big, not JSON, wrong method): its status is its own. */
class RequestError extends ConfigError {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(text);
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new RequestError(413, `request body larger than ${max} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new RequestError(400, 'request body is empty: a JSON object is expected');
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new RequestError(400, `request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RequestError(400, `request body is not JSON: ${(err as Error).message}`);
  }
}

/** Deepest bracket nesting outside strings, found before parsing so a deep body costs nothing. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') max = Math.max(max, ++depth);
    else if (c === '}' || c === ']') depth--;
  }
  return max;
}

/** Zod issues as `{field, message}` with a one-line summary naming each field. */
function validate<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issues = issueList(r.error, { root: '<body>', indices: 'dots' });
  throw new RequestError(400, issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
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
 *   GET    /metrics                Prometheus text format
 *
 * Errors are JSON `{error, issues?}`; 400s name the offending field. With tokens configured,
 * /health and /ready are open, /metrics is open unless `metricsRequireToken`, reads need a viewer
 * token, the vocabulary an operator's and cameras an admin's (401 without a valid token, 403 below
 * the role). Control actions, accepted or refused, go to the audit log.
 */
export function createHttpApi(opts: HttpApiOptions): Server {
  const options = httpServerOptions(opts);
  const server = opts.server ?? createServer(options);
  // A server made elsewhere gets the same timeouts (its checking interval is its maker's to set).
  server.headersTimeout = options.headersTimeout!;
  server.requestTimeout = options.requestTimeout!;
  return server.on('request', (req: IncomingMessage, res: ServerResponse) => serve(opts, req, res));
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
function serve(opts: HttpApiOptions, req: IncomingMessage, res: ServerResponse): void {
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
    const target = await route(opts, req, res, url, parts);
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

/** Answers the request; returns what a control action acted on, for the audit log. */
async function route(opts: HttpApiOptions, req: IncomingMessage, res: ServerResponse, url: URL, parts: readonly string[]): Promise<string | void> {
  const { control } = opts;
  const max = opts.maxBodyBytes ?? 1 << 20;
  const method = req.method ?? 'GET';
  const allow = (...methods: string[]): void => {
    if (!methods.includes(method)) throw new RequestError(405, `${method} is not allowed on ${url.pathname} (allowed: ${methods.join(', ')})`);
  };

  switch (parts[0]) {
    case 'health': {
      allow('GET');
      // Still 200 when degraded: restarting the process would not bring a broker or camera back.
      return send(res, 200, assessHealth({ cameras: control.cameras(), connections: control.connections?.() ?? {}, sinks: control.sinks?.() ?? [] }));
    }
    case 'ready': {
      allow('GET');
      const r = control.readiness();
      return send(res, r.model && r.vocabulary ? 200 : 503, { ready: r.model && r.vocabulary, ...r });
    }
    case 'metrics':
      allow('GET');
      if (opts.metrics === undefined) throw new NotFoundError('metrics are not enabled');
      return send(res, 200, await opts.metrics.text(), opts.metrics.registry.contentType);
    case 'vocabulary': {
      if (parts.length > 1) break;
      allow('GET', 'PUT');
      if (method === 'GET') {
        const v = control.vocabulary();
        if (v === undefined) throw new NotReadyError('the vocabulary is not ready yet');
        return send(res, 200, v);
      }
      const update = validate(VocabularyUpdateSchema, await readJson(req, max));
      const version = await control.updateVocabulary(update);
      send(res, 200, { version });
      return `version ${version}: ${update.labels.length} labels`;
    }
    case 'cameras': {
      if (parts.length === 1) {
        allow('GET', 'POST');
        if (method === 'GET') return send(res, 200, control.cameras());
        const camera = validate(CameraSchema, await readJson(req, max));
        const added = await control.addCamera(camera);
        send(res, 201, added);
        return `${added.id} ${added.url}`;
      }
      const id = parts[1]!;
      if (parts.length === 2) {
        allow('GET', 'DELETE');
        if (method === 'GET') {
          const cam = control.cameras().find((c) => c.id === id);
          if (cam === undefined) throw new NotFoundError(`no camera "${id}"`);
          return send(res, 200, cam);
        }
        if (!control.removeCamera(id)) throw new NotFoundError(`no camera "${id}"`);
        res.writeHead(204).end();
        return id;
      }
      if (parts.length === 3 && parts[2] === 'preview') {
        allow('GET');
        if (control.preview === undefined) throw new NotFoundError('the preview relay is not enabled (preview.enabled)');
        return send(res, 200, control.preview(id));
      }
      break;
    }
  }
  throw new NotFoundError(`no route ${method} ${url.pathname}`);
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
