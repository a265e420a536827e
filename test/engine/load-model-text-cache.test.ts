import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionClipModel } from '../../src/engine/action-clip-model.js';
import type { Engine } from '../../src/engine/engine.js';
import { loadModel, type LoadModelOptions } from '../../src/engine/load-model.js';
import { ACTIONCLIP_TEMPLATES } from '../../src/model/prompts.js';
import { readSafetensors, writeSafetensors } from '../../src/model/weights/safetensors.js';
import { STATE_FILE } from '../../src/training/trainer-state.js';
import { HAVE_FIXTURES, fixture, fixtureMeta } from '../support/fixtures.js';

/** The real engine, with its encodeText calls counted (prompts per call). */
function counting(engine: Engine): Engine & { prompts: number } {
  const wrapper = {
    info: engine.info,
    prompts: 0,
    encodeFrames: (p: Float32Array, n: number) => engine.encodeFrames(p, n),
    fuse: (e: Float32Array, b: number) => engine.fuse(e, b),
    encodeText: (t: Int32Array, n: number) => ((wrapper.prompts += n), engine.encodeText(t, n)),
    dispose: () => engine.dispose(),
  };
  return wrapper;
}

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe.skipIf(!HAVE_FIXTURES)('loadModel: text cache and checkpoint templates (reference weights, onnx)', () => {
  let dir: string;
  let cacheDir: string;
  const load = (weights: string, over: Partial<LoadModelOptions> = {}) =>
    loadModel({ weights, engine: 'onnx', engineOptions: { cacheDir: path.join(dir, 'onnx'), logger: { info: () => {}, warn: () => {} } }, textCache: { dir: cacheDir }, ...over });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'load-model-text-cache-'));
    cacheDir = path.join(dir, 'text-embeddings');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a second load encodes the vocabulary for zero prompts, bit-identical to an uncached model', async () => {
    const { labels, templates } = fixtureMeta();
    const uncached = await load(fixture('clip.safetensors'), { textCache: false });
    const first = await load(fixture('clip.safetensors'));
    const second = await load(fixture('clip.safetensors'));
    try {
      expect(uncached.textCache).toBeNull();
      const expected = await uncached.promptEmbeddings(labels, templates);
      const cold = counting(first.engine);
      const a = await new ActionClipModel(cold, { textCache: first.textCache }).promptEmbeddings(labels, templates);
      expect(cold.prompts).toBe(labels.length * templates.length);
      const warm = counting(second.engine);
      const b = await new ActionClipModel(warm, { textCache: second.textCache }).promptEmbeddings(labels, templates);
      expect(warm.prompts).toBe(0);
      expect(second.textCache!.model).toBe(first.textCache!.model);
      expect(bits(a)).toEqual(bits(expected));
      expect(bits(b)).toEqual(bits(expected));
    } finally {
      for (const m of [uncached, first, second]) m.dispose();
    }
  });

  it('keys entries by the weights contents: a copy shares them, changed weights never do', async () => {
    const { labels, templates } = fixtureMeta();
    await copyFile(fixture('clip.safetensors'), path.join(dir, 'copy.safetensors'));
    const { tensors } = await readSafetensors(fixture('clip.safetensors'));
    const proj = tensors.get('text_projection')!;
    tensors.set('text_projection', { ...proj, data: Float32Array.from(proj.data as Float32Array, (x) => x * 1.5) });
    await writeSafetensors(path.join(dir, 'changed.safetensors'), tensors);
    const original = await load(fixture('clip.safetensors'));
    const copy = await load(path.join(dir, 'copy.safetensors'));
    const changed = await load(path.join(dir, 'changed.safetensors'));
    try {
      await original.promptEmbeddings(labels, templates);
      expect(copy.textCache!.model).toBe(original.textCache!.model);
      expect(changed.textCache!.model).not.toBe(original.textCache!.model);
      const c = counting(changed.engine);
      const got = await new ActionClipModel(c, { textCache: changed.textCache }).promptEmbeddings(labels, templates);
      expect(c.prompts).toBe(labels.length * templates.length);
      expect(bits(got)).not.toEqual(bits(await original.promptEmbeddings(labels, templates)));
    } finally {
      for (const m of [original, copy, changed]) m.dispose();
    }
  });

  it("exposes a train output folder's templates in info and classifies with them by default", async () => {
    const { labels } = fixtureMeta();
    const ckpt = path.join(dir, 'run');
    await mkdir(ckpt, { recursive: true });
    await symlink(fixture('clip.safetensors'), path.join(ckpt, 'clip.safetensors'));
    const trained = ['a clip of {}', 'someone is {}'];
    await writeFile(path.join(ckpt, STATE_FILE), JSON.stringify({ version: 1, epoch: 1, step: 2, totalSteps: 2, stepsPerEpoch: 2, head: 'meanP', frames: 8, seed: 1, templates: trained, history: [] }));
    const fromFolder = await load(ckpt);
    const plain = await load(fixture('clip.safetensors'));
    try {
      expect(fromFolder.info.templates).toEqual(trained);
      expect(plain.info.templates).toBeUndefined();
      const video = await fromFolder.encodeVideos(new Float32Array(8 * 3 * 32 * 32).fill(0.3), 1);
      const byDefault = await fromFolder.classify(video, 1, labels);
      expect(Array.from(byDefault)).toEqual(Array.from(await plain.classify(video, 1, labels, trained)));
      expect(Array.from(byDefault)).not.toEqual(Array.from(await plain.classify(video, 1, labels, ACTIONCLIP_TEMPLATES)));
      expect(Array.from(await plain.classify(video, 1, labels))).toEqual(Array.from(await plain.classify(video, 1, labels, ACTIONCLIP_TEMPLATES)));
    } finally {
      fromFolder.dispose();
      plain.dispose();
    }
  });
});
