// Access control on the real HTTP and WebSocket server of the live pipeline: tokens with roles,
// the Origin check, the camera URL policy from the API, the audit trail and the slowloris timeout.
// The engine is the deterministic test double (the model is not what is under test here); every
// connection, the service's and ffmpeg's, stays on 127.0.0.1.
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loadConfig } from '../../config/load.js';
import { startLive, type LiveHandle } from '../../pipelines/live.js';
import { createLogger } from '../../src/observability/logger.js';
import { createToken } from '../../src/security/tokens.js';
import { freePort } from '../../harness/processes.js';
import { DeterministicEngine } from '../support/deterministic-engine.js';

const dir = mkdtempSync(path.join(tmpdir(), 'acs-security-'));
const tokens = { viewer: createToken('viewer', 'vic'), operator: createToken('operator', 'olga'), admin: createToken('admin', 'ada') };
const auditFile = path.join(dir, 'audit.jsonl');
let live: LiveHandle;
let logText = '';
let closedPort: number;

beforeAll(async () => {
  writeFileSync(path.join(dir, 'tokens'), Object.values(tokens).map((t) => t.line).join('\n') + '\n');
  closedPort = await freePort();
  const config = loadConfig({
    overrides: {
      weights: 'deterministic-test-double',
      labels: ['walking', 'running'],
      port: 0,
      host: '127.0.0.1',
      logLevel: 'info',
      security: { tokensFile: path.join(dir, 'tokens'), auditFile, limits: { headersTimeoutMs: 500 } },
    },
  });
  const logs = new PassThrough();
  logs.on('data', (d: Buffer) => (logText += d.toString()));
  live = await startLive({ config, engine: new DeterministicEngine({ imageSize: 4 }), logger: createLogger({ level: 'info', destination: logs }) });
}, 60_000);
afterAll(async () => {
  await live?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const call = async (method: string, route: string, token?: string, body?: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(live.url + route, {
    method,
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text(), auth: res.headers.get('www-authenticate') };
};

describe('HTTP API with tokens', () => {
  it('leaves /health, /ready and /metrics open', async () => {
    for (const route of ['/health', '/ready', '/metrics']) expect((await call('GET', route)).status).toBe(200);
  });

  it('401 without a token or with a wrong one, asking for a bearer token', async () => {
    const none = await call('GET', '/cameras');
    expect(none.status).toBe(401);
    expect(none.auth).toMatch(/^Bearer/);
    expect((await call('GET', '/vocabulary', 'acs_not-a-token')).status).toBe(401);
    expect((await call('PUT', '/vocabulary', undefined, { labels: ['x'] })).status).toBe(401);
  });

  it('each role may do its own and less, and gets 403 above it', async () => {
    const { viewer, operator, admin } = tokens;
    expect((await call('GET', '/cameras', viewer.token)).status).toBe(200);
    expect((await call('GET', '/vocabulary', viewer.token)).status).toBe(200);
    const v403 = await call('PUT', '/vocabulary', viewer.token, { labels: ['sitting'] });
    expect(v403.status).toBe(403);
    expect(v403.text).toContain('needs the operator role');
    expect((await call('POST', '/cameras', viewer.token, { id: 'c', url: 'rtsp://10.0.0.5/x' })).status).toBe(403);
    expect((await call('PUT', '/vocabulary', operator.token, { labels: ['sitting', 'standing'] })).status).toBe(200);
    expect((await call('POST', '/cameras', operator.token, { id: 'c', url: 'rtsp://10.0.0.5/x' })).status).toBe(403);
    expect((await call('DELETE', '/cameras/none', operator.token)).status).toBe(403);
    expect((await call('DELETE', '/cameras/none', admin.token)).status).toBe(404); // allowed, just absent
    expect((await call('PUT', '/vocabulary', admin.token, { labels: ['sitting'] })).status).toBe(200);
  });

  it('refuses local files, ffmpeg protocols and loopback cameras from the API, naming the rule', async () => {
    const { admin } = tokens;
    const file = await call('POST', '/cameras', admin.token, { id: 'f', url: 'file:///etc/shadow' });
    expect(file.status).toBe(400);
    expect(file.text).toContain('rule \\"allowFileSources\\"');
    const concat = await call('POST', '/cameras', admin.token, { id: 'k', url: 'concat:/etc/passwd|/etc/shadow' });
    expect(concat.status).toBe(400);
    expect(concat.text).toContain('unsupported camera URL scheme \\"concat:\\"');
    const sub = await call('POST', '/cameras', admin.token, { id: 's', url: 'subfile:,,start,0,end,0,,:/etc/passwd' });
    expect(sub.status).toBe(400);
    const loop = await call('POST', '/cameras', admin.token, { id: 'l', url: `rtsp://admin:hunter2@127.0.0.1:${closedPort}/cam` });
    expect(loop.status).toBe(400);
    expect(loop.text).toContain('rule \\"allowLoopback\\"');
    expect(loop.text).not.toContain('hunter2');
    expect((await call('GET', '/cameras', admin.token)).text).toBe('[]');
  });

  it('refuses a browser page from a foreign origin', async () => {
    const r = await call('GET', '/cameras', tokens.viewer.token, undefined, { origin: 'https://evil.example' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('security.allowedOrigins');
  });

  it('records accepted and refused control actions with who, what and from where', () => {
    const lines = readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines).toContainEqual(expect.objectContaining({ actor: 'olga', role: 'operator', action: 'vocabulary.update', outcome: 'accepted', via: 'http', address: '127.0.0.1' }));
    expect(lines).toContainEqual(expect.objectContaining({ actor: 'vic', role: 'viewer', action: 'vocabulary.update', outcome: 'refused', reason: expect.stringContaining('needs the operator role') }));
    expect(lines).toContainEqual(expect.objectContaining({ actor: 'anonymous', action: 'vocabulary.update', outcome: 'refused' }));
    expect(lines).toContainEqual(expect.objectContaining({ actor: 'ada', action: 'camera.add', outcome: 'refused', reason: expect.stringContaining('allowLoopback') }));
    expect(logText).toContain('"audit"');
  });
});

/** Opens a WebSocket and resolves with it, or rejects with the HTTP status of a refused upgrade. */
const connect = (protocols: string[], headers: Record<string, string> = {}): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(live.url.replace('http', 'ws') + '/ws', protocols, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once('error', reject);
  });
const reply = (ws: WebSocket, msg: unknown): Promise<{ type: string; error?: string; version?: number }> =>
  new Promise((resolve) => {
    ws.on('message', function on(d) {
      const m = JSON.parse(d.toString()) as { type: string };
      if (m.type === 'error' || m.type === 'vocabulary') (ws.off('message', on), resolve(m));
    });
    ws.send(JSON.stringify(msg));
  });

describe('WebSocket with tokens', () => {
  it('refuses the upgrade without a token, with a wrong one, and from a foreign origin', async () => {
    await expect(connect([])).rejects.toThrow('status 401');
    await expect(connect(['actionclip.v1', 'bearer.acs_wrong'])).rejects.toThrow('status 401');
    await expect(connect(['actionclip.v1', `bearer.${tokens.viewer.token}`], { origin: 'https://evil.example' })).rejects.toThrow('status 403');
  });

  it('a browser-style viewer (token as subprotocol) reads but may not change the vocabulary', async () => {
    const ws = await connect(['actionclip.v1', `bearer.${tokens.viewer.token}`], { origin: live.url });
    expect(ws.protocol).toBe('actionclip.v1'); // never the token
    const r = await reply(ws, { type: 'vocabulary', labels: ['jumping'] });
    expect(r).toMatchObject({ type: 'error', error: expect.stringContaining('needs the operator role') });
    ws.close();
  });

  it('an operator (Authorization header) changes the vocabulary', async () => {
    const ws = await connect([], { authorization: `Bearer ${tokens.operator.token}` });
    const r = await reply(ws, { type: 'vocabulary', labels: ['jumping', 'waving'] });
    expect(r.type).toBe('vocabulary');
    expect(r.version).toBeGreaterThan(1);
    ws.close();
  });
});

describe('limits', () => {
  it('closes a client that trickles its headers (slowloris) within the header timeout', async () => {
    const port = Number(new URL(live.url).port);
    const sock = createConnection({ host: '127.0.0.1', port });
    const t0 = Date.now();
    sock.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const tick = setInterval(() => sock.write('X-Slow: 1\r\n'), 100);
    const answer = await new Promise<string>((resolve) => {
      let got = '';
      sock.on('data', (d) => (got += d.toString()));
      sock.on('close', () => resolve(got));
    });
    clearInterval(tick);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(Date.now() - t0).toBeLessThan(10_000); // far below what an unbounded trickle would hold
  });
});

describe('secrets in logs', () => {
  it('no token and no camera password ever reaches the log', () => {
    expect(logText.length).toBeGreaterThan(0);
    for (const t of Object.values(tokens)) expect(logText).not.toContain(t.token);
    expect(logText).not.toContain('hunter2');
  });
});
