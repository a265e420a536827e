// HTTPS and WSS on the real live pipeline: a real ffmpeg camera (lavfi test pattern) through the
// deterministic engine double, the real HTTP API and WebSocket hub on 127.0.0.1, served with a
// certificate openssl makes here. Rotation goes through a real SIGHUP to this process.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { isMainThread } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startLive, type LiveHandle } from '../../pipelines/live.js';
import { createControlServer } from '../../src/control/control-server.js';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/observability/logger.js';
import { selfSignedCertificate, type TestCertificate } from '../support/certificates.js';
import { DeterministicEngine } from '../support/deterministic-engine.js';
import { patternLiveConfig } from '../support/pattern-live.js';

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly fingerprint256: string;
}

/** One HTTPS GET on a fresh connection (no agent: every call makes its own handshake). */
function httpsGet(port: number, path: string, ca?: string | string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, agent: false, ...(ca === undefined ? {} : { ca }) }, (res) => {
      const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint256 }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function plainHttpGet(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, agent: false }, (res) => resolve(res.statusCode ?? 0));
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const dir = mkdtempSync(join(tmpdir(), 'actionclip-tls-'));
const certFile = join(dir, 'server.crt');
const keyFile = join(dir, 'server.key');
const logLines: string[] = [];
let first: TestCertificate;
let second: TestCertificate;
let live: LiveHandle | undefined;
let sighupBefore = 0;

/**
 * A real SIGHUP where this file runs in a process of its own (vitest's default `forks` pool); in a
 * worker thread the signal would reach the whole test runner, so there the handlers are called.
 */
function hangup(): void {
  if (isMainThread) process.kill(process.pid, 'SIGHUP');
  else process.emit('SIGHUP', 'SIGHUP');
}

function install(cert: TestCertificate): void {
  copyFileSync(cert.certFile, certFile);
  copyFileSync(cert.keyFile, keyFile);
}

beforeAll(async () => {
  [first, second] = await Promise.all([selfSignedCertificate(dir, 'first'), selfSignedCertificate(dir, 'second')]);
  install(first);
  sighupBefore = process.listenerCount('SIGHUP');
  const config = patternLiveConfig({ logLevel: 'debug', security: { tls: { cert: certFile, key: keyFile } } });
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
  live = await startLive({ config, engine: new DeterministicEngine({ imageSize: 4 }), logger });
}, 60_000);

afterAll(async () => {
  await live?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the live pipeline over TLS (HTTPS and WSS)', () => {
  it('answers GET /health over HTTPS with the generated certificate, and says https in its url', async () => {
    expect(live!.url).toBe(`https://127.0.0.1:${live!.port}`);
    const r = await httpsGet(live!.port, '/health', first.pem);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'ok' }); // plus what /health knows of the cameras
    expect(r.fingerprint256).toBe(first.fingerprint256);
  });

  it('is refused by a client that does not trust the certificate', async () => {
    await expect(httpsGet(live!.port, '/health')).rejects.toThrow(/self[- ]signed/i);
  });

  it('does not speak plain HTTP on the TLS port', async () => {
    await expect(plainHttpGet(live!.port, '/health')).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it('streams detections to a WSS client', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${live!.port}/ws`, { ca: first.pem });
    const types: string[] = [];
    ws.on('message', (d) => types.push((JSON.parse(d.toString()) as { type: string }).type));
    try {
      await new Promise((r, j) => ws.once('open', r).once('error', j));
      ws.send(JSON.stringify({ type: 'subscribe', kinds: ['window'] }));
      await until('windows over WSS', () => types.filter((t) => t === 'window').length >= 2);
      // The greeting (camera states) may come before the answer; windows only after it.
      expect(types.indexOf('subscribed')).toBeGreaterThanOrEqual(0);
      expect(types.indexOf('subscribed')).toBeLessThan(types.indexOf('window'));
    } finally {
      ws.terminate();
    }
  });

  it('on SIGHUP keeps the old certificate when the new files are broken, and serves new ones once they load', async () => {
    expect(process.listenerCount('SIGHUP')).toBe(sighupBefore + 1); // ours: the signal cannot kill the test process
    const ws = new WebSocket(`wss://127.0.0.1:${live!.port}/ws`, { ca: first.pem });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    try {
      writeFileSync(certFile, 'not a certificate\n');
      hangup();
      await until('the failed reload logged', () => logLines.some((l) => l.includes('TLS reload failed')));
      const failed = JSON.parse(logLines.find((l) => l.includes('TLS reload failed'))!) as { level: number; err: { message: string } };
      expect(failed.level).toBe(50);
      expect(failed.err.message).toContain(certFile);
      expect((await httpsGet(live!.port, '/health', first.pem)).fingerprint256).toBe(first.fingerprint256);

      install(second);
      hangup();
      const both = [first.pem, second.pem];
      await until('the new certificate served', async () => (await httpsGet(live!.port, '/health', both)).fingerprint256 === second.fingerprint256);
      // Trusting only the new certificate now works; the connection made before the rotation stays up.
      expect((await httpsGet(live!.port, '/health', second.pem)).status).toBe(200);
      expect(ws.readyState).toBe(WebSocket.OPEN);
      const wss = new WebSocket(`wss://127.0.0.1:${live!.port}/ws`, { ca: second.pem });
      await new Promise((r, j) => wss.once('open', r).once('error', j));
      wss.terminate();
    } finally {
      ws.terminate();
    }
  });

  it('removes its SIGHUP hook on stop', async () => {
    await live!.stop();
    live = undefined;
    expect(process.listenerCount('SIGHUP')).toBe(sighupBefore);
  });

  it('names the setting and the file when a certificate file is missing or does not load', () => {
    const missing = join(dir, 'absent.crt');
    expect(() => createControlServer({ tls: { cert: missing, key: keyFile } })).toThrow(ConfigError);
    expect(() => createControlServer({ tls: { cert: missing, key: keyFile } })).toThrow(`security.tls.cert: cannot read ${missing}`);
    // A key that is not the certificate's: refused at start, by name, before anything listens.
    expect(() => createControlServer({ tls: { cert: first.certFile, key: second.keyFile } })).toThrow(/security\.tls\.cert .* and security\.tls\.key .* do not load/);
  });
});
