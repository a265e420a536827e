import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CameraSchema, VocabularyUpdateSchema, type CameraConfig, type VocabularyUpdate } from '../../config/schema.js';
import { classify, ConfigError, issueList, NotFoundError, NotReadyError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { ControlPlane } from './control-plane.js';

export interface HttpApiOptions {
  readonly control: ControlPlane;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /** Largest request body accepted. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** The server to answer on (an https one from createControlServer); default a plain node:http one. */
  readonly server?: Server;
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
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RequestError(400, `request body is not JSON: ${(err as Error).message}`);
  }
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
 *   GET    /health                 liveness: the process answers
 *   GET    /ready                  200 once the model is loaded and a vocabulary is encoded, else 503
 *   GET    /cameras                [{id, url (redacted), state}]
 *   POST   /cameras                {id, url} -> 201
 *   DELETE /cameras/:id            204 | 404
 *   GET    /cameras/:id/preview    {camera, wsPort} when the preview relay is enabled
 *   GET    /vocabulary             {version, labels, templates}
 *   PUT    /vocabulary             {labels, templates?} -> {version}
 *   GET    /metrics                Prometheus text format
 *
 * Errors are JSON `{error, issues?}`; 400s name the offending field.
 */
export function createHttpApi(opts: HttpApiOptions): Server {
  const { control } = opts;
  const max = opts.maxBodyBytes ?? 1 << 20;

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter((p) => p.length > 0).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const allow = (...methods: string[]): void => {
      if (!methods.includes(method)) throw new RequestError(405, `${method} is not allowed on ${url.pathname} (allowed: ${methods.join(', ')})`);
    };

    switch (parts[0]) {
      case 'health':
        allow('GET');
        return send(res, 200, { status: 'ok' });
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
        return send(res, 200, { version });
      }
      case 'cameras': {
        if (parts.length === 1) {
          allow('GET', 'POST');
          if (method === 'GET') return send(res, 200, control.cameras());
          const camera = validate(CameraSchema, await readJson(req, max));
          return send(res, 201, control.addCamera(camera));
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
          return;
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
  };

  const server = opts.server ?? createServer();
  return server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((err: unknown) => {
      const { status, kind } = classify(err);
      if (kind === 'internal') opts.logger?.error({ err, path: req.url }, 'http handler failed');
      const body =
        err instanceof RequestError
          ? { error: err.message, ...(err.details === undefined ? {} : { issues: err.details }) }
          : { error: kind === 'internal' ? 'internal error' : (err as Error).message };
      if (!res.headersSent) send(res, err instanceof RequestError ? err.status : status, body);
      else res.end();
    });
  });
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
