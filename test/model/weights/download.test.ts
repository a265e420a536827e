import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliDownloadProgress } from '../../../src/model/weights/download-progress.js';
import { downloadWeights, type DownloadProgress } from '../../../src/model/weights/download.js';
import { loadWeights } from '../../../src/model/weights/load-weights.js';
import { serializeSafetensors } from '../../../src/model/weights/safetensors.js';
import { expectSameTensors, expectWeightsError, tinyClip, tmpDir } from './helpers.js';

describe('downloadWeights (local HTTP server)', () => {
  const clip = tinyClip(31, 2);
  const body = serializeSafetensors(clip);
  const sha = createHash('sha256').update(body).digest('hex');
  let server: http.Server;
  let base = '';
  let noRangeCalls = 0;
  let slowCalls = 0;
  const tmp = tmpDir('download');
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    tmp.cleanup();
  });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      if (url === '/weights/clip.safetensors' || url === '/redirect') {
        if (url === '/redirect') {
          res.writeHead(302, { location: '/weights/clip.safetensors' }).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
        // Several chunks so that progress is reported more than once.
        const step = 64 * 1024;
        let off = 0;
        const pump = (): void => {
          while (off < body.length) {
            const ok = res.write(body.subarray(off, off + step));
            off += step;
            if (!ok) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      } else if (url === '/cut/clip.safetensors' || url === '/cut-chunked/clip.safetensors') {
        const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
        if (url.startsWith('/cut/')) headers['content-length'] = String(body.length);
        res.writeHead(200, headers);
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => {
          // Drop the connection mid-body.
          setTimeout(() => res.socket?.destroy(), 20);
        });
      } else if (url === '/slow/clip.safetensors') {
        // Slow enough that a second download of the same file starts while this one runs.
        slowCalls++;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
        let off = 0;
        const step = (): void => {
          if (off >= body.length) return void res.end();
          res.write(body.subarray(off, (off += 32 * 1024)));
          setTimeout(step, 10);
        };
        step();
      } else if (url === '/norange/clip.safetensors') {
        // Ignores Range: the first answer is cut, the next ones send the whole file with 200.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
        if (noRangeCalls++ === 0) res.write(body.subarray(0, 1000), () => setTimeout(() => res.socket?.destroy(), 20));
        else res.end(body);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such file');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  const listing = (dir: string): string[] => readdirSync(dir).sort();

  it('downloads atomically, reports progress, and the file loads as weights', async () => {
    const dest = path.join(tmp.dir, 'ok');
    const seen: DownloadProgress[] = [];
    const file = await downloadWeights(`${base}/weights/clip.safetensors`, dest, { onProgress: (p) => seen.push(p), sha256: sha });
    expect(file).toBe(path.join(dest, 'clip.safetensors'));
    expect(listing(dest)).toEqual(['clip.safetensors']);
    expect(readFileSync(file).equals(body)).toBe(true);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.at(-1)).toEqual({ received: body.length, total: body.length, resumedFrom: 0 });
    for (let i = 1; i < seen.length; i++) expect(seen[i].received).toBeGreaterThanOrEqual(seen[i - 1].received);
    expectSameTensors((await loadWeights(file)).clip, clip);
  });

  it('follows redirects and honours fileName', async () => {
    const dest = path.join(tmp.dir, 'redirect');
    const file = await downloadWeights(`${base}/redirect`, dest, { fileName: 'model.safetensors' });
    expect(listing(dest)).toEqual(['model.safetensors']);
    expect(readFileSync(file).equals(body)).toBe(true);
  });

  it('reuses a complete file, and replaces one whose hash does not match', async () => {
    const dest = path.join(tmp.dir, 'reuse');
    const file = await downloadWeights(`${base}/weights/clip.safetensors`, dest);
    writeFileSync(file, 'stale');
    // No hash given: the existing file is trusted (downloads are atomic, so it was complete).
    await downloadWeights(`${base}/weights/clip.safetensors`, dest);
    expect(readFileSync(file, 'utf8')).toBe('stale');
    await downloadWeights(`${base}/weights/clip.safetensors`, dest, { sha256: sha });
    expect(readFileSync(file).equals(body)).toBe(true);
  });

  it('HTTP 404 is a clear error and leaves nothing behind', async () => {
    const dest = path.join(tmp.dir, 'missing');
    const url = `${base}/weights/nope.safetensors`;
    await expectWeightsError(downloadWeights(url, dest), url, undefined, /HTTP 404 Not Found/);
    expect(listing(dest)).toEqual([]);
  });

  it.each(['cut', 'cut-chunked'])('a connection cut mid-body (%s) is a clear error and leaves only a .part file to resume', async (route) => {
    const dest = path.join(tmp.dir, route);
    const url = `${base}/${route}/clip.safetensors`;
    const e = await expectWeightsError(downloadWeights(url, dest, { retries: 0 }), url, undefined, /download (interrupted|incomplete)/);
    if (route === 'cut') expect(e.message).toContain(`of ${body.length} bytes`);
    expect(e.retriable).toBe(true);
    expect(listing(dest)).toEqual(['clip.safetensors.part']);
  });

  it('retries a cut with back-off; a server that ignores Range gets the part rewritten from byte 0', async () => {
    const dest = path.join(tmp.dir, 'norange');
    const retries: number[] = [];
    const file = await downloadWeights(`${base}/norange/clip.safetensors`, dest, { sha256: sha, retryDelayMs: 5, onRetry: (r) => retries.push(r.delayMs) });
    expect(retries).toEqual([5]);
    expect(noRangeCalls).toBe(2);
    expect(listing(dest)).toEqual(['clip.safetensors']);
    expect(readFileSync(file).equals(body)).toBe(true);
  });

  it('two downloads of the same file at once: one downloads, the other waits for its lock and reuses the file', async () => {
    const dest = path.join(tmp.dir, 'concurrent');
    const url = `${base}/slow/clip.safetensors`;
    let waited = 0;
    // Which of the two takes the lock first is up to the file system: count the waits of both.
    const onWait = (): void => void waited++;
    const [a, b] = await Promise.all([downloadWeights(url, dest, { sha256: sha, onWait }), downloadWeights(url, dest, { sha256: sha, onWait })]);
    expect(a).toBe(b);
    expect(waited).toBe(1);
    expect(slowCalls).toBe(1);
    expect(listing(dest)).toEqual(['clip.safetensors']);
    expect(readFileSync(a).equals(body)).toBe(true);
  });

  it('a lock left by a killed process goes stale and is taken over', async () => {
    const dest = path.join(tmp.dir, 'stale-lock');
    mkdirSync(dest, { recursive: true });
    const lock = path.join(dest, 'clip.safetensors.lock');
    writeFileSync(lock, '999999@elsewhere\n');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const file = await downloadWeights(`${base}/weights/clip.safetensors`, dest, { sha256: sha });
    expect(listing(dest)).toEqual(['clip.safetensors']);
    expect(readFileSync(file).equals(body)).toBe(true);
  });

  it('a sha256 mismatch fails and leaves nothing behind', async () => {
    const dest = path.join(tmp.dir, 'badsha');
    const url = `${base}/weights/clip.safetensors`;
    await expectWeightsError(downloadWeights(url, dest, { sha256: '0'.repeat(64) }), url, undefined, /sha256 mismatch/);
    expect(listing(dest)).toEqual([]);
    await expectWeightsError(downloadWeights(url, dest, { sha256: 'abc' }), url, undefined, /64 hex digits/);
  });

  it('a refused connection is a clear error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/clip.safetensors`;
    const delays: number[] = [];
    await expectWeightsError(downloadWeights(url, path.join(tmp.dir, 'refused'), { retries: 2, retryDelayMs: 1, onRetry: (r) => delays.push(r.delayMs) }), url, undefined, /ECONNREFUSED/);
    // Retriable, so retried with doubling waits before giving up.
    expect(delays).toEqual([1, 2]);
  });

  it('cliDownloadProgress draws a bar on the given stream (bar mode forced on a non-TTY)', async () => {
    const sink = new PassThrough();
    let text = '';
    sink.on('data', (c: Buffer) => (text += c.toString()));
    const bar = cliDownloadProgress('clip', { stream: sink, mode: 'bar' });
    try {
      await downloadWeights(`${base}/weights/clip.safetensors`, path.join(tmp.dir, 'bar'), { onProgress: bar.onProgress });
    } finally {
      bar.stop();
    }
    expect(text).toContain('clip');
    expect(text).toContain('100%');
  });
});

describe('cliDownloadProgress on a stream that is not a terminal', () => {
  it('prints a plain line per 10% with size, speed and ETA', () => {
    const sink = new PassThrough();
    let text = '';
    sink.on('data', (c: Buffer) => (text += c.toString()));
    const p = cliDownloadProgress('vit', { stream: sink });
    const total = 10_000_000;
    // Resumed at 30%, then many small steps: one line when resuming and one per 10% after.
    for (let received = 3_000_000; received <= total; received += 62_500) p.onProgress({ received, total, resumedFrom: 3_000_000 });
    p.stop();
    const lines = text.trim().split('\n');
    expect(lines.map((l) => /^vit: (\d+)%/.exec(l)?.[1])).toEqual(['30', '40', '50', '60', '70', '80', '90', '100']);
    expect(lines[0]).toContain('resuming at 3.0 MB');
    expect(lines.at(-1)).toMatch(/^vit: 100% 10\.0\/10\.0 MB, (-|[\d.]+ MB\/s), ETA (\?|0s)$/);
  });
});
