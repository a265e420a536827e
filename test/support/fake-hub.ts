// A local HTTP server on 127.0.0.1 that answers like the Hugging Face hub, for the download tests:
// `/<repo>/resolve/<rev>/<file>` answers 302 to a CDN-like path with X-Linked-Etag / X-Linked-Size
// / X-Repo-Commit, the CDN path serves the bytes with Range (206 + Content-Range), gated files
// answer 401 without the right token, and a connection can be dropped after N bytes (the socket is
// really closed before the body's end: a real fault, no mock).
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubFile {
  readonly repo: string;
  readonly revision?: string;
  readonly file: string;
  readonly body: Buffer;
  /** Needs `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** The sha256 the hub advertises (X-Linked-Etag); default the body's. A wrong one fakes a corrupt object. */
  readonly advertisedSha256?: string;
}

export interface HubRequest {
  readonly method: string;
  readonly url: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
}

export const sha256Of = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export class FakeHub {
  readonly requests: HubRequest[] = [];
  private readonly files = new Map<string, HubFile>();
  private readonly cuts = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private server: http.Server | undefined;
  base = '';

  add(f: HubFile): this {
    this.files.set(`/${f.repo}/resolve/${f.revision ?? 'main'}/${f.file}`, f);
    return this;
  }

  /** The next CDN GET of this file sends `bytes` bytes (counted from where it starts) and drops the connection. */
  cutNextDownload(f: HubFile, bytes: number): void {
    this.cuts.set(sha256Of(f.body), bytes);
  }

  /** The next request to this file's resolve URL answers `status` (a hub having a bad moment). */
  failNextResolve(f: HubFile, status: number): void {
    this.failures.set(`/${f.repo}/resolve/${f.revision ?? 'main'}/${f.file}`, status);
  }

  /** Requests for the CDN copy of a file (the ones that carry the bytes). */
  downloads(f: HubFile): HubRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && r.url === `/cdn-lfs/${sha256Of(f.body)}`);
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.base;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '';
    this.requests.push({ method: req.method ?? '', url, range: req.headers.range, authorization: req.headers.authorization });
    const resolved = this.files.get(url);
    if (resolved !== undefined) return this.resolve(resolved, req, res);
    const cdn = /^\/cdn-lfs\/([0-9a-f]{64})$/.exec(url);
    const file = cdn === null ? undefined : [...this.files.values()].find((f) => sha256Of(f.body) === cdn[1]);
    if (file !== undefined) return this.serve(file, req, res);
    res.writeHead(404, { 'content-type': 'text/plain', 'x-error-code': 'EntryNotFound' }).end('Entry not found');
  }

  private resolve(f: HubFile, req: http.IncomingMessage, res: http.ServerResponse): void {
    const failure = this.failures.get(req.url ?? '');
    if (failure !== undefined) {
      this.failures.delete(req.url ?? '');
      res.writeHead(failure, { 'content-type': 'text/plain' }).end('try again later');
      return;
    }
    if (f.token !== undefined && req.headers.authorization !== `Bearer ${f.token}`) {
      res.writeHead(401, { 'content-type': 'text/plain', 'x-error-code': 'GatedRepo' }).end('Access to this model is restricted');
      return;
    }
    const sha = f.advertisedSha256 ?? sha256Of(f.body);
    res
      .writeHead(302, {
        location: `${this.base}/cdn-lfs/${sha256Of(f.body)}`,
        'x-linked-etag': `"${sha}"`,
        'x-linked-size': String(f.body.length),
        'x-repo-commit': 'c0ffee0000000000000000000000000000000000',
        etag: `"${sha}"`,
      })
      .end();
  }

  private serve(f: HubFile, req: http.IncomingMessage, res: http.ServerResponse): void {
    const size = f.body.length;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m === null ? 0 : Number(m[1]);
    const headers = { 'content-type': 'application/octet-stream', etag: `"${sha256Of(f.body)}"`, 'accept-ranges': 'bytes' };
    if (start >= size && m !== null) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      return;
    }
    const rangeHeaders = m === null ? {} : { 'content-range': `bytes ${start}-${size - 1}/${size}` };
    res.writeHead(m === null ? 200 : 206, { ...headers, ...rangeHeaders, 'content-length': String(size - start) });
    if (req.method === 'HEAD') return void res.end();
    const cut = this.cuts.get(sha256Of(f.body));
    if (cut === undefined) return void res.end(f.body.subarray(start));
    this.cuts.delete(sha256Of(f.body));
    // Send the first bytes, then close the TCP connection mid-body. A FIN, not a reset: a reset
    // throws away what the client has not read yet, so where it resumes would depend on its load.
    res.write(f.body.subarray(start, start + cut), () => res.socket?.end());
  }
}

/**
 * Where a resumed GET started (`bytes=N-`). A download resumes from the bytes its part file holds;
 * those it had received but not yet written when the connection dropped are fetched again, so N
 * is at most the cut, not always equal to it.
 */
export function resumedFrom(range: string | undefined): number {
  const m = /^bytes=(\d+)-$/.exec(range ?? '');
  if (m === null) throw new Error(`not a resume request: ${String(range)}`);
  return Number(m[1]);
}
