// The real download code against a hub-like server on 127.0.0.1 (test/support/fake-hub.ts): no
// mocks, and nothing beyond loopback (HF_ENDPOINT points at the local server).
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeightsError } from '../../src/errors.js';
import { listCachedModels, modelDir, readManifest, removeCachedModel } from '../../src/models/model-cache.js';
import { pullModel } from '../../src/models/pull-model.js';
import { isModelName, resolveWeights } from '../../src/models/resolve-weights.js';
import { loadWeights } from '../../src/model/weights/load-weights.js';
import { serializeSafetensors } from '../../src/model/weights/safetensors.js';
import { loadTrainConfig } from '../../src/training/config.js';
import { FakeHub, resumedFrom, sha256Of, type HubFile } from '../support/fake-hub.js';
import { expectSameTensors, tinyClip, tmpDir } from '../model/weights/helpers.js';

const clip = tinyClip(7, 2);
const body = Buffer.from(serializeSafetensors(clip));
const B32: HubFile = { repo: 'openai/clip-vit-base-patch32', file: 'model.safetensors', body };
const B16: HubFile = { repo: 'openai/clip-vit-base-patch16', file: 'model.safetensors', body: Buffer.concat([body]), token: 'hf_secret' };
// The hub advertises one hash and serves other bytes: a corrupt object.
const L14: HubFile = { repo: 'openai/clip-vit-large-patch14', file: 'model.safetensors', body: Buffer.from(serializeSafetensors(tinyClip(8, 1))) };

describe('models pull against a hub-like server', () => {
  const hub = new FakeHub().add(B32).add(B16).add(L14);
  const tmp = tmpDir('hub');
  let n = 0;
  /** A fresh cache per test, and the env a user would set. */
  const setup = (extra: Record<string, string> = {}) => {
    const home = path.join(tmp.dir, `home-${++n}`);
    return { home, env: { HF_ENDPOINT: hub.base, ...extra }, log: () => undefined, progress: false, retryDelayMs: 5 };
  };
  const listing = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

  beforeAll(async () => {
    await hub.start();
  });
  afterAll(async () => {
    await hub.close();
    tmp.cleanup();
  });

  it('pulls a catalogue name through the resolve URL and its redirect, verified against X-Linked-Etag', async () => {
    const o = setup();
    const pulled = await pullModel('vit-b-32', o);
    expect(pulled.dir).toBe(modelDir(o.home, 'vit-b-32', 'main'));
    expect(listing(pulled.dir)).toEqual(['manifest.json', 'model.safetensors']);
    expect(readFileSync(path.join(pulled.dir, 'model.safetensors')).equals(body)).toBe(true);
    expect(pulled.manifest).toMatchObject({ verifiedBy: 'hub', commit: 'c0ffee0000000000000000000000000000000000', files: [{ name: 'model.safetensors', size: body.length, sha256: sha256Of(body) }] });
    expect(hub.requests.some((r) => r.method === 'HEAD' && r.url === '/openai/clip-vit-base-patch32/resolve/main/model.safetensors')).toBe(true);
    // A second pull finds it in the cache and downloads nothing.
    const before = hub.requests.length;
    expect((await pullModel('vit-b-32', o)).cached).toBe(true);
    expect(hub.requests.length).toBe(before);
  });

  it('resumes after the connection is dropped mid-file: the retry asks for the rest with Range', async () => {
    const o = setup();
    const cutAt = Math.floor(body.length / 3);
    const seenBefore = hub.downloads(B32).length;
    hub.cutNextDownload(B32, cutAt);
    const retries: string[] = [];
    const pulled = await pullModel('vit-b-32', { ...o, log: (l) => retries.push(l) });
    const gets = hub.downloads(B32).slice(seenBefore);
    expect(gets.map((g) => g.range === undefined)).toEqual([true, false]);
    expect(resumedFrom(gets[1].range)).toBeGreaterThan(0);
    expect(resumedFrom(gets[1].range)).toBeLessThanOrEqual(cutAt);
    expect(retries.some((l) => /retry 1 in .*resuming/.test(l))).toBe(true);
    expect(readFileSync(path.join(pulled.dir, 'model.safetensors')).equals(body)).toBe(true);
    expect(pulled.manifest.files[0].sha256).toBe(sha256Of(body));
  });

  it('an interrupted pull leaves only a .part file, and the next pull resumes it', async () => {
    const o = setup();
    const dir = modelDir(o.home, 'vit-b-32', 'main');
    const cutAt = Math.floor(body.length / 2);
    hub.cutNextDownload(B32, cutAt);
    const err = await pullModel('vit-b-32', { ...o, retries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeightsError);
    expect((err as WeightsError).message).toMatch(/download (interrupted|incomplete)/);
    expect(listing(dir)).toEqual(['model.safetensors.part']);
    expect(readManifest(dir)).toBeUndefined();
    expect(listCachedModels(o.home)).toMatchObject([{ name: 'vit-b-32', manifest: undefined }]);
    // Offline, the half-downloaded model is not offered as weights.
    await expect(resolveWeights('vit-b-32', { ...o, env: { ...o.env, ACTIONCLIP_OFFLINE: '1' } })).rejects.toThrow(/not in the cache/);

    const seenBefore = hub.downloads(B32).length;
    const kept = statSync(path.join(dir, 'model.safetensors.part')).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(cutAt);
    await pullModel('vit-b-32', o);
    expect(hub.downloads(B32).slice(seenBefore).map((g) => g.range)).toEqual([`bytes=${kept}-`]);
    expect(listing(dir)).toEqual(['manifest.json', 'model.safetensors']);
    expect(readFileSync(path.join(dir, 'model.safetensors')).equals(body)).toBe(true);
  });

  it('a 503 from the hub is asked again; a revision pins its own cache folder', async () => {
    const o = setup();
    const pinned: HubFile = { ...B32, revision: 'v2' };
    hub.add(pinned);
    hub.failNextResolve(pinned, 503);
    const pulled = await pullModel('vit-b-32@v2', o);
    expect(pulled.dir).toBe(modelDir(o.home, 'vit-b-32', 'v2'));
    expect(hub.requests.filter((r) => r.url === '/openai/clip-vit-base-patch32/resolve/v2/model.safetensors').length).toBeGreaterThanOrEqual(2);
    expect(readFileSync(path.join(pulled.dir, 'model.safetensors')).equals(body)).toBe(true);
    expect(await resolveWeights('vit-b-32@v2', o)).toBe(pulled.dir);
  });

  it('a file whose bytes do not match the advertised hash is deleted, part file included', async () => {
    const o = setup();
    const bad: HubFile = { repo: 'acme/corrupt', file: 'model.safetensors', body, advertisedSha256: sha256Of(Buffer.from('something else')) };
    hub.add(bad);
    const home = o.home;
    mkdirSync(home, { recursive: true });
    writeFileSync(path.join(home, 'models.json'), JSON.stringify([{ name: 'corrupt', description: 'a corrupt object', repo: 'acme/corrupt', file: 'model.safetensors' }]));
    await expect(pullModel('corrupt', o)).rejects.toThrow(/sha256 mismatch/);
    expect(listing(modelDir(home, 'corrupt', 'main'))).toEqual([]);
  });

  it('a catalogue hash the hub contradicts stops before downloading (vit-l-14 pins its sha256)', async () => {
    const o = setup();
    const before = hub.downloads(L14).length;
    await expect(pullModel('vit-l-14', o)).rejects.toThrow(/serves another model.safetensors/);
    expect(hub.downloads(L14).length).toBe(before);
  });

  it('a gated file answers 401 without HF_TOKEN (the error says to set it); with it the token is sent', async () => {
    const o = setup();
    await expect(pullModel('vit-b-16', o)).rejects.toThrow(/HTTP 401.*set HF_TOKEN/);
    const pulled = await pullModel('vit-b-16', { ...o, env: { ...o.env, HF_TOKEN: 'hf_secret' } });
    expect(pulled.manifest.files[0].sha256).toBe(sha256Of(B16.body));
    const resolves = hub.requests.filter((r) => r.url.startsWith('/openai/clip-vit-base-patch16/'));
    expect(resolves.at(-1)?.authorization).toBe('Bearer hf_secret');
  });

  it('--weights with a catalogue name: pulled on first use, then loads as weights', async () => {
    const o = setup();
    const lines: string[] = [];
    const dir = await resolveWeights('vit-b-32', { ...o, log: (l) => lines.push(l) });
    expect(dir).toBe(modelDir(o.home, 'vit-b-32', 'main'));
    expect(lines.join('\n')).toMatch(/not in the cache yet[\s\S]*pulling vit-b-32 .*model\.safetensors, \d+(\.\d)? kB\) into/);
    expectSameTensors((await loadWeights(dir)).clip, clip);
    // A path that exists is never taken for a name; an unknown word is left for the loader to report.
    expect(await resolveWeights(tmp.dir, o)).toBe(tmp.dir);
    expect(await resolveWeights('no-such-model', o)).toBe('no-such-model');
  });

  it('a URL pulls under a name that --weights then accepts; a URL with a wrong --sha256 leaves nothing', async () => {
    const o = setup();
    const url = `${hub.base}/openai/clip-vit-base-patch32/resolve/main/model.safetensors`;
    await expect(pullModel(url, { ...o, name: 'mine', sha256: '0'.repeat(64) })).rejects.toThrow(/serves another model.safetensors/);
    await expect(pullModel(url, { ...o, name: 'mine', sha256: 'abc' })).rejects.toThrow(/cannot pull .*sha256: 64 lower-case hex digits/);
    await expect(pullModel(url, { ...o, name: 'Not OK' })).rejects.toThrow(/cannot pull .*name: lower-case letters/);
    const pulled = await pullModel(url, { ...o, name: 'mine' });
    expect(pulled.dir).toBe(modelDir(o.home, 'mine', 'url'));
    expect(await resolveWeights('mine', o)).toBe(pulled.dir);
    expect(isModelName('mine', process.cwd(), o.home)).toBe(true);
    expectSameTensors((await loadWeights(await resolveWeights('mine', o))).clip, clip);
  });

  it('offline with nothing cached: the error names the command to run elsewhere and the folder to copy', async () => {
    const o = setup({ ACTIONCLIP_OFFLINE: '1' });
    const dir = modelDir(o.home, 'vit-b-32', 'main');
    const before = hub.requests.length;
    await expect(resolveWeights('vit-b-32', o)).rejects.toThrow(`run \`actionclip-stream models pull vit-b-32\`, then copy its ${dir} folder`);
    expect(hub.requests.length).toBe(before);
    // No network at all (nothing listens on the port): the same advice, at once (no retries on HEAD).
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(resolveWeights('vit-b-32', { ...o, env: { HF_ENDPOINT: `http://127.0.0.1:${port}` } })).rejects.toThrow(/ECONNREFUSED.*models pull vit-b-32/);
  });

  it('rm deletes what is cached; rm of something absent is a NotFoundError', async () => {
    const o = setup();
    await pullModel('vit-b-32', o);
    expect(listCachedModels(o.home).map((m) => `${m.name}/${m.revision}`)).toEqual(['vit-b-32/main']);
    expect(await removeCachedModel(o.home, 'vit-b-32')).toEqual([modelDir(o.home, 'vit-b-32', 'main')]);
    expect(listCachedModels(o.home)).toEqual([]);
    expect(existsSync(path.join(o.home, 'models', 'vit-b-32'))).toBe(false);
    await expect(removeCachedModel(o.home, 'vit-b-32')).rejects.toThrow(/no cached model "vit-b-32"/);
  });

  it('config loaders keep a catalogue name as a name (not a path under the working directory)', () => {
    expect(isModelName('vit-b-32', process.cwd())).toBe(true);
    expect(isModelName('weights/clip.safetensors', process.cwd())).toBe(false);
    const cfg = loadTrainConfig(undefined, { weights: 'vit-b-32', data: { train: 'train.txt', labels: 'labels.csv' }, outputDir: 'out', eval: { every: 0 } });
    expect(cfg.weights).toBe('vit-b-32');
  });
});
