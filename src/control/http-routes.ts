/**
 * The routes of the control API, one function per resource. Each answers the request and returns
 * what a control action acted on (for the audit log); access checks happen before (http-api.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CameraSchema, VocabularyUpdateSchema } from '../../config/schema.js';
import { NotFoundError, NotReadyError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Principal } from '../security/tokens.js';
import type { ControlPlane } from './control-plane.js';
import { serveDashboard } from './dashboard-assets.js';
import { assessHealth } from './health.js';
import { readJson, RequestError, send, validate } from './http-io.js';

export interface RouteContext {
  readonly control: ControlPlane;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly parts: readonly string[];
  readonly method: string;
  /** Largest request body accepted. */
  readonly maxBodyBytes: number;
  /** Who called (LOCAL_PRINCIPAL without tokens; undefined without a valid token). */
  readonly principal: Principal | undefined;
  /** Whether tokens are configured at all. */
  readonly tokens: boolean;
  /** The built dashboard (dist/dashboard), or undefined when it is not built. */
  readonly dashboardDir: string | undefined;
}

/** 405 unless the method is one of these. */
function allow(c: RouteContext, ...methods: string[]): void {
  if (!methods.includes(c.method)) throw new RequestError(405, `${c.method} is not allowed on ${c.url.pathname} (allowed: ${methods.join(', ')})`);
}

/** Answers the request; returns what a control action acted on, for the audit log. */
export async function route(c: RouteContext): Promise<string | void> {
  const first = c.parts[0];
  if (first === undefined || first === 'dashboard') {
    allow(c, 'GET', 'HEAD');
    return serveDashboard(c.res, c.parts, c.dashboardDir);
  }
  switch (first) {
    case 'health':
    case 'ready':
    case 'me':
      return serviceRoute(c);
    case 'metrics':
      return metricsRoute(c);
    case 'vocabulary':
      return vocabularyRoute(c);
    case 'cameras':
      return camerasRoute(c);
    case 'events':
      return eventsRoute(c);
  }
  throw new NotFoundError(`no route ${c.method} ${c.url.pathname}`);
}

function serviceRoute(c: RouteContext): void {
  allow(c, 'GET');
  const { control, res } = c;
  if (c.parts.length > 1) throw new NotFoundError(`no route ${c.method} ${c.url.pathname}`);
  if (c.parts[0] === 'health') {
    // Still 200 when degraded: restarting the process would not bring a broker or camera back.
    return send(res, 200, assessHealth({ cameras: control.cameras(), connections: control.connections?.() ?? {}, sinks: control.sinks?.() ?? [] }));
  }
  if (c.parts[0] === 'ready') {
    const r = control.readiness();
    return send(res, r.model && r.vocabulary ? 200 : 503, { ready: r.model && r.vocabulary, ...r });
  }
  // Open, and 200 either way: a page asking "who am I" with no token is normal, not an error.
  send(res, 200, { tokens: c.tokens, ...(c.principal === undefined ? {} : { name: c.principal.name, role: c.principal.role }) });
}

async function metricsRoute(c: RouteContext): Promise<void> {
  allow(c, 'GET');
  const { metrics } = c;
  if (metrics === undefined) throw new NotFoundError('metrics are not enabled');
  if (c.parts.length === 1) return send(c.res, 200, await metrics.text(), metrics.registry.contentType);
  // The same series as the Prometheus text, as prom-client's JSON (the dashboard's health panel).
  if (c.parts.length === 2 && c.parts[1] === 'json') return send(c.res, 200, await metrics.registry.getMetricsAsJSON());
  throw new NotFoundError(`no route ${c.method} ${c.url.pathname}`);
}

async function vocabularyRoute(c: RouteContext): Promise<string | void> {
  const { control, res, parts } = c;
  if (parts.length === 1) {
    allow(c, 'GET', 'PUT');
    if (c.method === 'GET') {
      const v = control.vocabulary();
      if (v === undefined) throw new NotReadyError('the vocabulary is not ready yet');
      return send(res, 200, v);
    }
    const update = validate(VocabularyUpdateSchema, await readJson(c.req, c.maxBodyBytes));
    const version = await control.updateVocabulary(update);
    send(res, 200, { version });
    return `version ${version}: ${update.labels.length} labels`;
  }
  if (parts.length === 2 && parts[1] === 'history') {
    allow(c, 'GET');
    return send(res, 200, control.vocabularyHistory?.() ?? []);
  }
  if (parts.length === 2 && parts[1] === 'try') {
    allow(c, 'POST');
    if (control.tryVocabulary === undefined) throw new NotFoundError('draft scoring is not available here');
    const draft = validate(VocabularyUpdateSchema, await readJson(c.req, c.maxBodyBytes));
    return send(res, 200, await control.tryVocabulary(draft));
  }
  throw new NotFoundError(`no route ${c.method} ${c.url.pathname}`);
}

async function camerasRoute(c: RouteContext): Promise<string | void> {
  const { control, res, parts } = c;
  if (parts.length === 1) {
    allow(c, 'GET', 'POST');
    if (c.method === 'GET') return send(res, 200, control.cameras());
    const camera = validate(CameraSchema, await readJson(c.req, c.maxBodyBytes));
    const added = await control.addCamera(camera);
    send(res, 201, added);
    return `${added.id} ${added.url}`;
  }
  const id = parts[1]!;
  if (parts.length === 2) {
    allow(c, 'GET', 'DELETE');
    if (c.method === 'GET') {
      const cam = control.cameras().find((x) => x.id === id);
      if (cam === undefined) throw new NotFoundError(`no camera "${id}"`);
      return send(res, 200, cam);
    }
    if (!(await control.removeCamera(id))) throw new NotFoundError(`no camera "${id}"`);
    res.writeHead(204).end();
    return id;
  }
  if (parts.length === 3 && parts[2] === 'preview') {
    allow(c, 'GET');
    if (control.preview === undefined) throw new NotFoundError('the preview relay is not enabled (preview.enabled)');
    return send(res, 200, control.preview(id));
  }
  if (parts.length === 3 && parts[2] === 'snapshot') return snapshotRoute(c, id);
  throw new NotFoundError(`no route ${c.method} ${c.url.pathname}`);
}

/** Recent windows and events (`?since=<epoch ms>`), for a page that opens after they were published. */
function eventsRoute(c: RouteContext): void {
  allow(c, 'GET');
  if (c.parts.length > 1) throw new NotFoundError(`no route ${c.method} ${c.url.pathname}`);
  const raw = c.url.searchParams.get('since') ?? '0';
  const since = Number(raw);
  if (!Number.isFinite(since)) throw new RequestError(400, `since: "${raw}" is not a time in epoch milliseconds`);
  send(c.res, 200, c.control.recentEvents?.(since) ?? '[]');
}

/**
 * The newest frame as a JPEG; 204 when there is none: before the first frame, or for a camera just
 * removed (a tile polling while it goes is not an error, and the page's console stays clean).
 */
async function snapshotRoute(c: RouteContext, id: string): Promise<void> {
  allow(c, 'GET');
  if (c.control.snapshot === undefined) throw new NotFoundError('snapshots are not available here');
  const shot = await c.control.snapshot(id);
  if (shot === undefined) return void c.res.writeHead(204, { 'cache-control': 'no-store' }).end();
  c.res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'no-store', 'x-capture-time': String(shot.captureTs) });
  c.res.end(shot.jpeg);
}
