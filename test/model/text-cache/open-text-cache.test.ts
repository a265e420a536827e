import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionclipHome } from '../../../src/actionclip-home.js';
import { openTextCache } from '../../../src/model/text-cache/open-text-cache.js';

const engine = { engine: 'onnx', backend: 'cpu', precision: 'float32-fused', contextLength: 77 };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'open-text-cache-'));
  await writeFile(path.join(dir, 'w.safetensors'), 'weights');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('openTextCache', () => {
  it('is off with false, and keyed by engine numerics as well as weights', async () => {
    expect(await openTextCache([path.join(dir, 'w.safetensors')], engine, false)).toBeNull();
    const opts = { dir: path.join(dir, 'cache') };
    const a = await openTextCache([path.join(dir, 'w.safetensors')], engine, opts);
    const fp16 = await openTextCache([path.join(dir, 'w.safetensors')], { ...engine, precision: 'float16-fused' }, opts);
    const tfjs = await openTextCache([path.join(dir, 'w.safetensors')], { ...engine, engine: 'tfjs', backend: 'wasm', precision: 'float32' }, opts);
    expect(new Set([a!.model, fp16!.model, tfjs!.model]).size).toBe(3);
    expect(a!.dir).toBe(opts.dir);
  });

  it('turns itself off with a warning when the weights cannot be hashed (the model still loads)', async () => {
    const warnings: string[] = [];
    const missing = path.join(dir, 'gone.safetensors');
    expect(await openTextCache([missing], engine, { dir: path.join(dir, 'cache'), warn: (m) => warnings.push(m) })).toBeNull();
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`text-embedding cache off: cannot hash ${missing}.*ENOENT`))]);
  });

  it('lives under $ACTIONCLIP_HOME, else $ACTIONCLIP_CACHE, else ~/.cache/actionclip-stream', () => {
    expect(actionclipHome({ ACTIONCLIP_HOME: '/h', ACTIONCLIP_CACHE: '/c' })).toBe('/h');
    expect(actionclipHome({ ACTIONCLIP_CACHE: '/c' })).toBe('/c');
    expect(actionclipHome({})).toBe(path.join(os.homedir(), '.cache', 'actionclip-stream'));
  });
});
