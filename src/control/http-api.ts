import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CameraSchema, VocabularyUpdateSchema, type CameraConfig, type VocabularyUpdate } from '../../config/schema.js';
import { ConfigError, issueList } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { CameraState } from '../types.js';

export interface CameraInfo {
  readonly id: string;
  /** Redacted. */
  readonly url: string;
  readonly state?: CameraState;
}

export interface PreviewInfo {
  readonly camera: string;
  /** Connect a JSMpeg player to this WebSocket port on the service host. */
  readonly wsPort: number;
}

/** What the API drives: implemented by the live pipeline, a fake in unit tests. */
export interface ControlPlane {
  readiness(): { model: boolean; vocabulary: boolean };
  cameras(): CameraInfo[];
  /** @throws ConfigError when the id is taken. */
  addCamera(camera: CameraConfig): CameraInfo;
  removeCamera(id: string): boolean;
  vocabulary(): { version: number; labels: readonly string[]; templates: readonly string[] } | undefined;
  /** Resolves with the new version once active; rejects with ConfigError on a bad vocabulary. */
  updateVocabulary(update: VocabularyUpdate): Promise<number>;
  /** Live preview relay (node-rtsp-stream), when enabled. */
  preview?(id: string): PreviewInfo | undefined;
}

export interface HttpApiOptions {
  readonly control: ControlPlane;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /** Largest request body accepted. Default 1 MiB. */
  readonly maxBodyBytes?: number;
}

class HttpError extends Error {
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
    if (size > max) throw new HttpError(413, `request body larger than ${max} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'request body is empty: a JSON object is expected');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `request body is not JSON: ${(err as Error).message}`);
  }
}

/** Zod issues as `{field, message}` with a one-line summary naming each field. */
function validate<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issues = issueList(r.error, { root: '<body>', indices: 'dots' });
  throw new HttpError(400, issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
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
      if (!methods.includes(method)) throw new HttpError(405, `${method} is not allowed on ${url.pathname} (allowed: ${methods.join(', ')})`);
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
        if (opts.metrics === undefined) throw new HttpError(404, 'metrics are not enabled');
        return send(res, 200, await opts.metrics.text(), opts.metrics.registry.contentType);
      case 'vocabulary': {
        if (parts.length > 1) break;
        allow('GET', 'PUT');
        if (method === 'GET') {
          const v = control.vocabulary();
          if (v === undefined) throw new HttpError(503, 'the vocabulary is not ready yet');
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
            if (cam === undefined) throw new HttpError(404, `no camera "${id}"`);
            return send(res, 200, cam);
          }
          if (!control.removeCamera(id)) throw new HttpError(404, `no camera "${id}"`);
          res.writeHead(204).end();
          return;
        }
        if (parts.length === 3 && parts[2] === 'preview') {
          allow('GET');
          if (control.preview === undefined) throw new HttpError(404, 'the preview relay is not enabled (preview.enabled)');
          const p = control.preview(id);
          if (p === undefined) throw new HttpError(404, `no preview for camera "${id}"`);
          return send(res, 200, p);
        }
        break;
      }
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`);
  };

  return createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      let status = 500;
      let body: Record<string, unknown> = { error: 'internal error' };
      if (err instanceof HttpError) {
        status = err.status;
        body = { error: err.message, ...(err.details === undefined ? {} : { issues: err.details }) };
      } else if (err instanceof ConfigError) {
        status = /already exists|duplicate/i.test(err.message) ? 409 : 400;
        body = { error: err.message };
      } else opts.logger?.error({ err, path: req.url }, 'http handler failed');
      if (!res.headersSent) send(res, status, body);
      else res.end();
    });
  });
}
