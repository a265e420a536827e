// Property-based fuzzing (fast-check) of every input the service parses: HTTP bodies and paths and
// WebSocket messages on the real live server, Kafka frame messages through the real decoder, and
// configuration (values and YAML text) through the real loader. Each suite prints how many cases
// ran. No generated camera can be added (the URL policy allows no scheme here), so nothing ever
// connects anywhere, and the service must answer every case with a 4xx or an error reply naming
// the problem, keep running, and keep what it had accepted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loadConfig } from '../../config/load.js';
import { startLive, type LiveHandle } from '../../pipelines/live.js';
import { ConfigError, MalformedInputError } from '../../src/errors.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createToken } from '../../src/security/tokens.js';
import { decodeFrameMessage } from '../../src/sources/kafka-frames.js';
import { DeterministicEngine } from '../support/deterministic-engine.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const dir = mkdtempSync(path.join(tmpdir(), 'acs-fuzz-'));
const admin = createToken('admin', 'fuzzer');
let live: LiveHandle;

beforeAll(async () => {
  writeFileSync(path.join(dir, 'tokens'), admin.line + '\n');
  const config = loadConfig({
    overrides: {
      weights: 'deterministic-test-double',
      labels: ['walking', 'running'],
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      textCache: { enabled: false },
      security: { tokensFile: path.join(dir, 'tokens'), cameraUrls: { allowedSchemes: [] }, limits: { messagesPerMinute: 10_000_000 } },
    },
  });
  live = await startLive({ config, engine: new DeterministicEngine({ imageSize: 4 }), logger: silentLogger() });
}, 60_000);
afterAll(async () => {
  await live?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const request = async (method: string, route: string, body: string | undefined) => {
  const res = await fetch(live.url + route, { method, body, headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' } });
  return { status: res.status, text: await res.text() };
};
const vocabulary = async () => JSON.parse((await request('GET', '/vocabulary', undefined)).text) as { version: number; labels: string[] };

/** A JSON-ish body: arbitrary JSON, near-misses of the real shapes, or raw text. */
const bodies = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({ labels: fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 5 }), templates: fc.option(fc.array(fc.string(), { maxLength: 3 })) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.record({ id: fc.string(), url: fc.oneof(fc.string(), fc.webUrl(), fc.constant('concat:/etc/passwd'), fc.constant('file:///etc/shadow')) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
);

describe('fuzzing the HTTP API', () => {
  it(`answers ${RUNS} generated bodies to PUT /vocabulary and POST /cameras with 2xx or a 4xx naming the problem`, async () => {
    let before = await vocabulary();
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('PUT /vocabulary', 'POST /cameras'), bodies, async (route, body) => {
        const [method, p] = route.split(' ');
        const r = await request(method, p, body);
        expect(r.status, r.text).toBeLessThan(500);
        expect(r.status).not.toBe(201); // no camera can pass this policy
        const now = await vocabulary();
        if (r.status >= 400) {
          refused++;
          expect((JSON.parse(r.text) as { error: string }).error.length).toBeGreaterThan(0);
          expect(now).toEqual(before); // a refused change leaves the accepted vocabulary as it was
        }
        before = now;
      }),
      { numRuns: RUNS },
    );
    console.info(`[fuzz] HTTP bodies: ${RUNS} cases, ${refused} refused with a 4xx, service alive`);
    expect((await request('GET', '/health', undefined)).status).toBe(200);
  }, 600_000);

  it(`answers ${RUNS} generated paths and methods without a 5xx`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), fc.oneof(fc.webPath(), fc.string({ maxLength: 60 }).map((s) => '/' + encodeURIComponent(s)), fc.constantFrom('/cameras/%E0%A4%A', '/%', '/cameras/../vocabulary', '//ws')), async (method, p) => {
        const r = await request(method, p, method === 'GET' || method === 'DELETE' ? undefined : '{}');
        expect(r.status, `${method} ${p}: ${r.text}`).toBeLessThan(500);
      }),
      { numRuns: RUNS },
    );
    console.info(`[fuzz] HTTP paths: ${RUNS} cases, no 5xx`);
  }, 600_000);
});

describe('fuzzing WebSocket messages', () => {
  it(`replies to ${RUNS} generated messages on one connection, which stays open`, async () => {
    const ws = new WebSocket(live.url.replace('http', 'ws') + '/ws', { headers: { authorization: `Bearer ${admin.token}` } });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const replies: Array<{ type: string; error?: string }> = [];
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { type: string; error?: string };
      if (m.type !== 'camera') replies.push(m);
    });
    const messages = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.record({ type: fc.constant('subscribe'), cameras: fc.array(fc.string({ minLength: 1 }), { maxLength: 2 }), minScore: fc.double({ min: 0, max: 1, noNaN: true }) }, { requiredKeys: ['type'] }).map((v) => JSON.stringify(v)),
      fc.record({ type: fc.constantFrom('subscribe', 'vocabulary', 'other'), labels: fc.anything(), cameras: fc.anything(), minScore: fc.anything(), kinds: fc.anything() }, { requiredKeys: ['type'] }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 100 }),
    );
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(messages, async (m) => {
        const want = sent + 1;
        ws.send(m);
        sent++;
        for (let i = 0; i < 200 && replies.length < want; i++) await new Promise((r) => setTimeout(r, 5));
        expect(replies.length).toBe(want); // every message is answered, one reply each
        const last = replies[replies.length - 1];
        if (last.type === 'error') expect(last.error!.length).toBeGreaterThan(0);
      }),
      { numRuns: RUNS },
    );
    expect(ws.readyState).toBe(WebSocket.OPEN);
    console.info(`[fuzz] WebSocket messages: ${RUNS} cases, ${replies.filter((r) => r.type === 'error').length} error replies, ${replies.filter((r) => r.type === 'subscribed').length} subscribed, connection open`);
    ws.close();
  }, 600_000);
});

describe('fuzzing Kafka frame messages', () => {
  it(`decodes ${RUNS} generated messages to a frame or a MalformedInputError with a reason`, async () => {
    const header = fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String), fc.constantFrom('rgb', 'jpeg', 'png', '-1', '1e9', 'NaN'));
    const message = fc.record({
      key: fc.option(fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom('door', 'cam-1')).map((s) => Buffer.from(s))),
      value: fc.option(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))),
      headers: fc.dictionary(fc.constantFrom('width', 'height', 'format', 'ts', 'x'), header.map((h) => Buffer.from(h))),
      timestamp: fc.oneof(fc.integer({ min: -5, max: 2e12 }).map(String), fc.string({ maxLength: 5 })),
    });
    // Near-valid raw frames too, so the accepting path is exercised, not only the refusals.
    const raw = fc.record({ w: fc.integer({ min: 1, max: 6 }), h: fc.integer({ min: 1, max: 6 }), extra: fc.integer({ min: -1, max: 1 }) }).map(({ w, h, extra }) => ({
      key: Buffer.from('cam-1'),
      value: Buffer.alloc(Math.max(1, w * h * 3 + extra), 7),
      headers: { width: Buffer.from(String(w)), height: Buffer.from(String(h)), format: Buffer.from('rgb'), ts: Buffer.from('1764000000000') },
      timestamp: '0',
    }));
    let malformed = 0;
    let decoded = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(message, raw), async (m) => {
        try {
          const f = await decodeFrameMessage(m);
          expect(f.rgb.length).toBe(f.width * f.height * 3);
          decoded++;
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedInputError);
          expect((err as MalformedInputError).reason.length).toBeGreaterThan(0);
          malformed++;
        }
      }),
      { numRuns: RUNS },
    );
    console.info(`[fuzz] Kafka frame messages: ${RUNS} cases, ${decoded} decoded, ${malformed} malformed (each a MalformedInputError with a reason)`);
    expect(decoded).toBeGreaterThan(0);
  }, 120_000);
});

describe('fuzzing configuration', () => {
  it(`loads ${RUNS} generated configurations or refuses them with a ConfigError`, () => {
    const overrides = fc.dictionary(fc.constantFrom('weights', 'window', 'stride', 'fps', 'cameras', 'labels', 'port', 'host', 'security', 'kafka', 'batching', 'tracker', 'decode'), fc.jsonValue({ maxDepth: 3 }));
    let refused = 0;
    let loaded = 0;
    fc.assert(
      fc.property(overrides, (o) => {
        try {
          loadConfig({ overrides: { weights: 'w', labels: ['a'], ...o } });
          loaded++;
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          refused++;
        }
      }),
      { numRuns: RUNS },
    );
    console.info(`[fuzz] configuration values: ${RUNS} cases, ${loaded} loaded, ${refused} refused with a ConfigError`);
  });

  it(`reads ${Math.round(RUNS / 4)} generated YAML files or refuses them with a ConfigError naming the file`, () => {
    const file = path.join(dir, 'fuzz.yaml');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))), (text) => {
        writeFileSync(file, text);
        try {
          loadConfig({ file, overrides: { weights: 'w', labels: ['a'] } });
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as Error).message).toContain(file);
        }
      }),
      { numRuns: Math.round(RUNS / 4) },
    );
    console.info(`[fuzz] YAML files: ${Math.round(RUNS / 4)} cases`);
  });
});
