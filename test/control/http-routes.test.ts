// The dashboard's routes on the real HTTP API (a control-plane double behind it): the static page,
// snapshots, draft scoring, vocabulary history, metrics as JSON, `me`, and who may reach each.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraConfig, VocabularyUpdate } from '../../config/schema.js';
import type { ControlPlane, DraftResult } from '../../src/control/control-plane.js';
import { createHttpApi } from '../../src/control/http-api.js';
import { findDashboardDir } from '../../src/control/dashboard-assets.js';
import { Metrics } from '../../src/observability/metrics.js';
import { createToken, TokenStore } from '../../src/security/tokens.js';

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);

/** A control plane double: one camera with a picture, one without. */
const control: ControlPlane = {
  readiness: () => ({ model: true, vocabulary: true }),
  cameras: () => [{ id: 'door', url: 'rtsp://h/x' }],
  addCamera: (c: CameraConfig) => ({ id: c.id, url: c.url }),
  removeCamera: () => true,
  vocabulary: () => ({ version: 2, labels: ['a', 'b'], templates: ['{}'] }),
  updateVocabulary: async () => 3,
  snapshot: async (id) => (id === 'door' ? { jpeg: JPEG, captureTs: 1234 } : undefined),
  recentEvents: (since) => JSON.stringify([{ type: 'window', windowEnd: since + 1 }]),
  vocabularyHistory: () => [
    { version: 1, labels: ['a'], templates: ['{}'], createdAt: 1 },
    { version: 2, labels: ['a', 'b'], templates: ['{}'], createdAt: 2 },
  ],
  tryVocabulary: async (u: VocabularyUpdate): Promise<DraftResult> => ({ labels: u.labels, templates: u.templates ?? ['{}'], cameras: [{ camera: 'door', windowStart: 1, windowEnd: 2, topk: [{ label: u.labels[0]!, score: 1 }], scores: [{ label: u.labels[0]!, score: 1 }] }] }),
};

const tokens = { viewer: createToken('viewer', 'vic'), operator: createToken('operator', 'olga') };
let dir: string;
const servers: Server[] = [];

async function serve(opts: Partial<Parameters<typeof createHttpApi>[0]>): Promise<string> {
  const server = createHttpApi({ control, metrics: new Metrics({ defaultMetrics: false }), dashboardDir: dir, ...opts });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const get = (url: string, token?: string, init: RequestInit = {}) => fetch(url, { ...init, headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), 'content-type': 'application/json' } });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dashboard-assets-'));
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
  await writeFile(path.join(dir, 'app.js'), 'console.log(1)');
});
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('dashboard routes without tokens (loopback)', () => {
  let base: string;
  beforeAll(async () => {
    base = await serve({});
  });

  it('serves the page with a strict CSP and its assets by file name only', async () => {
    const page = await get(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await page.text()).toContain('<title>t</title>');
    const js = await get(`${base}/dashboard/app.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await get(`${base}/dashboard/..%2Fpackage.json`)).status).toBe(404);
    expect((await get(`${base}/dashboard/missing.js`)).status).toBe(404);
    expect((await get(`${base}/dashboard/app.js`, undefined, { method: 'POST' })).status).toBe(405);
  });

  it('says how to build the page when it is not built', async () => {
    const bare = await serve({ dashboardDir: null });
    const res = await get(`${bare}/`);
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/npm run build/);
  });

  it('finds the built dashboard of this package', () => {
    const found = findDashboardDir();
    if (found !== undefined) expect(found).toMatch(/dist[\\/]dashboard$/);
  });

  it('snapshots: a JPEG with its capture time, 204 when there is no picture', async () => {
    const shot = await get(`${base}/cameras/door/snapshot`);
    expect(shot.status).toBe(200);
    expect(shot.headers.get('content-type')).toBe('image/jpeg');
    expect(shot.headers.get('x-capture-time')).toBe('1234');
    expect(Buffer.from(await shot.arrayBuffer())).toEqual(JPEG);
    expect((await get(`${base}/cameras/gone/snapshot`)).status).toBe(204);
  });

  it('vocabulary history, and draft scoring validated like an update', async () => {
    expect(((await (await get(`${base}/vocabulary/history`)).json()) as Array<{ version: number }>).map((v: { version: number }) => v.version)).toEqual([1, 2]);
    const tried = await get(`${base}/vocabulary/try`, undefined, { method: 'POST', body: JSON.stringify({ labels: ['wave'] }) });
    expect(tried.status).toBe(200);
    expect(await tried.json()).toMatchObject({ labels: ['wave'], cameras: [{ camera: 'door', topk: [{ label: 'wave' }] }] });
    const bad = await get(`${base}/vocabulary/try`, undefined, { method: 'POST', body: JSON.stringify({ labels: ['x'], templates: ['none'] }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { issues: Array<{ field: string }> }).issues[0]!.field).toBe('templates.0');
    expect((await get(`${base}/vocabulary/try`)).status).toBe(405);
  });

  it('metrics as JSON carry the same series as the text format', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.framesIn.inc({ camera: 'door', source: 'camera' }, 3);
    const url = await serve({ metrics });
    const json = (await (await get(`${url}/metrics/json`)).json()) as Array<{ name: string; values: Array<{ labels: Record<string, string>; value: number }> }>;
    expect(json.find((m) => m.name === 'actionclip_frames_in_total')!.values).toEqual([{ labels: { camera: 'door', source: 'camera' }, value: 3 }]);
    expect(await (await get(`${url}/metrics`)).text()).toContain('actionclip_frames_in_total{camera="door",source="camera"} 3');
  });

  it('recent windows and events since a time; a bad time is a 400 naming it', async () => {
    expect(await (await get(`${base}/events?since=41`)).json()).toEqual([{ type: 'window', windowEnd: 42 }]);
    expect(await (await get(`${base}/events`)).json()).toEqual([{ type: 'window', windowEnd: 1 }]);
    const bad = await get(`${base}/events?since=yesterday`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^since: "yesterday"/);
  });

  it('me: the local caller may do everything', async () => {
    expect(await (await get(`${base}/me`)).json()).toEqual({ tokens: false, name: 'local', role: 'admin' });
  });
});

describe('dashboard routes with tokens', () => {
  let base: string;
  beforeAll(async () => {
    base = await serve({ access: { tokens: TokenStore.parse(`${tokens.viewer.line}\n${tokens.operator.line}`, 'test') } });
  });

  it('the page and `me` are open; `me` names the token', async () => {
    expect((await get(`${base}/`)).status).toBe(200);
    expect((await get(`${base}/dashboard/app.js`)).status).toBe(200);
    expect(await (await get(`${base}/me`)).json()).toEqual({ tokens: true });
    expect(await (await get(`${base}/me`, 'acs_wrong')).json()).toEqual({ tokens: true });
    expect(await (await get(`${base}/me`, tokens.viewer.token)).json()).toEqual({ tokens: true, name: 'vic', role: 'viewer' });
  });

  it('snapshots and history need a viewer; draft scoring an operator', async () => {
    expect((await get(`${base}/cameras/door/snapshot`)).status).toBe(401);
    expect((await get(`${base}/cameras/door/snapshot`, tokens.viewer.token)).status).toBe(200);
    expect((await get(`${base}/vocabulary/history`)).status).toBe(401);
    expect((await get(`${base}/events`)).status).toBe(401);
    expect((await get(`${base}/events`, tokens.viewer.token)).status).toBe(200);
    const draft = { method: 'POST', body: JSON.stringify({ labels: ['wave'] }) };
    expect((await get(`${base}/vocabulary/try`, tokens.viewer.token, draft)).status).toBe(403);
    expect((await get(`${base}/vocabulary/try`, tokens.operator.token, draft)).status).toBe(200);
  });
});
