import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraConfig } from '../../config/schema.js';
import type { CameraInfo } from '../../src/control/camera-registry.js';
import type { ConnectionView, ControlPlane } from '../../src/control/control-plane.js';
import { createHttpApi } from '../../src/control/http-api.js';
import { ConflictError } from '../../src/errors.js';
import { Metrics } from '../../src/observability/metrics.js';

/** A control plane double recording what the API asked for. */
class FakeControl implements ControlPlane {
  cams = new Map<string, CameraConfig>();
  labels: readonly string[] = ['a'];
  version = 1;
  ready = { model: true, vocabulary: false };
  links: Record<string, ConnectionView> = {};
  connections() {
    return this.links;
  }
  readiness() {
    return this.ready;
  }
  cameras(): CameraInfo[] {
    return [...this.cams.values()].map((c) => ({ id: c.id, url: c.url.replace(/\/\/.*@/, '//***@') }));
  }
  addCamera(c: CameraConfig): CameraInfo {
    if (this.cams.has(c.id)) throw new ConflictError(`camera "${c.id}" already exists`);
    this.cams.set(c.id, c);
    return this.cameras().find((x) => x.id === c.id)!;
  }
  removeCamera(id: string): boolean {
    return this.cams.delete(id);
  }
  vocabulary() {
    return { version: this.version, labels: this.labels, templates: ['{}'] };
  }
  async updateVocabulary(u: { labels: string[] }): Promise<number> {
    this.labels = u.labels;
    return ++this.version;
  }
}

let server: Server;
let base: string;
const control = new FakeControl();
const metrics = new Metrics({ defaultMetrics: false });

beforeAll(async () => {
  server = createHttpApi({ control, metrics });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> => {
  const res = await fetch(base + path, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
};

describe('HTTP API', () => {
  it('health and readiness', async () => {
    expect((await call('GET', '/health')).status).toBe(200);
    expect(await call('GET', '/ready')).toMatchObject({ status: 503, json: { ready: false, model: true, vocabulary: false } });
    control.ready = { model: true, vocabulary: true };
    expect((await call('GET', '/ready')).status).toBe(200);
  });

  it('health lists the Kafka clients and is degraded (still 200) while one is not connected', async () => {
    expect(await call('GET', '/health')).toMatchObject({ status: 200, json: { status: 'ok' } });
    expect((await call('GET', '/health')).json).not.toHaveProperty('kafka');
    const since = new Date(0).toISOString();
    control.links = { 'kafka-frames': { status: 'connected', since }, 'kafka-detections': { status: 'disconnected', since, error: 'connect ECONNREFUSED 127.0.0.1:9' } };
    expect(await call('GET', '/health')).toMatchObject({
      status: 200,
      json: { status: 'degraded', kafka: { 'kafka-frames': { status: 'connected' }, 'kafka-detections': { status: 'disconnected', error: 'connect ECONNREFUSED 127.0.0.1:9' } } },
    });
    control.links = { 'kafka-frames': { status: 'connected', since } };
    expect(await call('GET', '/health')).toMatchObject({ status: 200, json: { status: 'ok', kafka: { 'kafka-frames': { status: 'connected' } } } });
    control.links = {};
  });

  it('adds, lists and removes cameras; validates bodies naming the field', async () => {
    expect(await call('POST', '/cameras', { id: 'door', url: 'rtsp://u:p@h/x' })).toMatchObject({ status: 201, json: { id: 'door', url: 'rtsp://***@h/x' } });
    expect((await call('POST', '/cameras', { id: 'door', url: 'x' })).status).toBe(409);
    // Only schemes of the source registry: ffmpeg's own protocols (concat:, subfile:, ...) are refused.
    const concat = await call('POST', '/cameras', { id: 'other', url: 'concat:/etc/passwd|/etc/shadow' });
    expect(concat.status).toBe(400);
    expect(concat.text).toContain(String.raw`url: unsupported camera URL scheme \"concat:\"`);
    const bad = await call('POST', '/cameras', { id: 'no spaces', url: '' });
    expect(bad.status).toBe(400);
    expect(bad.json.issues.map((i: { field: string }) => i.field).sort()).toEqual(['id', 'url']);
    expect((await call('POST', '/cameras', '{oops')).json.error).toMatch(/not JSON/);
    expect((await call('GET', '/cameras')).json).toEqual([{ id: 'door', url: 'rtsp://***@h/x' }]);
    expect((await call('GET', '/cameras/door')).status).toBe(200);
    expect((await call('DELETE', '/cameras/door')).status).toBe(204);
    expect((await call('DELETE', '/cameras/door')).status).toBe(404);
  });

  it('reads and replaces the vocabulary', async () => {
    expect((await call('GET', '/vocabulary')).json.labels).toEqual(['a']);
    expect(await call('PUT', '/vocabulary', { labels: ['x', 'y'], templates: ['a video of {}'] })).toMatchObject({ status: 200, json: { version: 2 } });
    expect(control.labels).toEqual(['x', 'y']);
    const bad = await call('PUT', '/vocabulary', { labels: ['x'], templates: ['no placeholder'] });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/templates\.0/);
    expect((await call('PUT', '/vocabulary', { labels: [] })).json.error).toMatch(/^labels/);
  });

  it('serves Prometheus metrics, 404s unknown routes and 405s wrong methods', async () => {
    metrics.framesIn.inc({ camera: 'door', source: 'camera' });
    const m = await call('GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.text).toContain('actionclip_frames_in_total{camera="door",source="camera"} 1');
    expect((await call('GET', '/nope')).status).toBe(404);
    expect((await call('POST', '/health')).status).toBe(405);
    expect((await call('GET', '/cameras/x/preview')).status).toBe(404);
  });
});
