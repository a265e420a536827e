import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionClipModel, loadModel, preprocessFrame, tokenize } from '../../src/index.js';
import type { TensorMap } from '../../src/model/weights/tensor-map.js';
import { FIXTURE_DIR, HAVE_FIXTURES, fixture, fixtureMeta, maxAbsError, maxAbsErrorRelative } from '../support/fixtures.js';
import { referenceCases } from '../support/reference-weights.js';

describe.skipIf(!HAVE_FIXTURES)('loadModel on the reference weights (tfjs, wasm)', () => {
  let cases: TensorMap;
  let fromSafetensors: ActionClipModel;
  let fromCheckpoint: ActionClipModel;
  const arr = (k: string) => cases.get(k)!.data;

  beforeAll(async () => {
    cases = await referenceCases();
    fromSafetensors = await loadModel({ weights: FIXTURE_DIR, fusion: fixture('fusion-Transf.safetensors'), engine: 'tfjs', backend: 'wasm' });
    fromCheckpoint = await loadModel({ weights: fixture('actionclip-Transf.pt'), engine: 'tfjs', backend: 'wasm' });
  });
  afterAll(() => {
    fromSafetensors?.dispose();
    fromCheckpoint?.dispose();
  });

  it('reads sizes and head from the weights', () => {
    const cfg = fixtureMeta().config;
    expect(fromSafetensors.info).toMatchObject({ engine: 'tfjs', backend: 'wasm', head: 'Transf', frames: 8, embedDim: cfg.embed_dim, imageSize: cfg.image_resolution, contextLength: 77 });
    expect(fromSafetensors.info.clip).toMatchObject({ visionWidth: cfg.vision_width, visionLayers: cfg.vision_layers, patchSize: cfg.vision_patch_size, textWidth: cfg.transformer_width, textLayers: cfg.transformer_layers });
    // The checkpoint says which head it was trained with.
    expect(fromCheckpoint.info.head).toBe('Transf');
  });

  it('classify gives the reference probabilities for the Transf head', async () => {
    const meta = fixtureMeta();
    const video = await fromSafetensors.fuse(arr('frame_embeddings') as Float32Array, 2);
    const probs = await fromSafetensors.classify(video, 2, meta.labels, meta.templates);
    const err = maxAbsError(probs, arr('probs.Transf'));
    console.log(`classify (Transf): max abs probability error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-4);
    expect(Array.from(fromSafetensors.tokenize(meta.prompts))).toEqual(Array.from(arr('text_tokens')));
  });

  it('the ActionCLIP .pt checkpoint gives the same outputs as the safetensors within fp16 rounding', async () => {
    const meta = fixtureMeta();
    const frames = arr('frames') as Float32Array;
    const pairs: [string, Float32Array, Float32Array][] = [];
    const [a, b] = [fromSafetensors, fromCheckpoint];
    pairs.push(['frame embeddings', await a.encodeFrames(frames, 16), await b.encodeFrames(frames, 16)]);
    pairs.push(['text embeddings', await a.encodeText(arr('text_tokens') as Int32Array, 80), await b.encodeText(arr('text_tokens') as Int32Array, 80)]);
    pairs.push(['video embeddings', await a.encodeVideos(frames, 2), await b.encodeVideos(frames, 2)]);
    for (const [what, x, y] of pairs) {
      const err = maxAbsErrorRelative(y, x);
      console.log(`.pt vs safetensors, ${what}: max abs error / max |value| = ${err.toExponential(2)}`);
      // fp16 keeps 11 significant bits (relative 2^-11 ≈ 4.9e-4 per weight); through this network it stays within 3e-3.
      expect(err).toBeLessThan(3e-3);
    }
    const pa = await a.classify(pairs[2][1], 2, meta.labels, meta.templates);
    const pb = await b.classify(pairs[2][2], 2, meta.labels, meta.templates);
    console.log(`.pt vs safetensors, probabilities: max abs difference ${maxAbsError(pb, pa).toExponential(2)}`);
    expect(maxAbsError(pb, pa)).toBeLessThan(2e-3);
  });

  it('leaks no tensor over 100 calls of each API function', async () => {
    const meta = fixtureMeta();
    const m = fromSafetensors;
    const frames = (arr('frames') as Float32Array).subarray(0, 8 * 3 * 32 * 32);
    const tokens = (arr('text_tokens') as Int32Array).subarray(0, 5 * 77);
    const emb = (arr('frame_embeddings') as Float32Array).subarray(0, 8 * 64);
    const rgb = new Uint8Array(48 * 40 * 3).map((_, i) => (i * 7) % 256);
    // Warm every path once (first calls may allocate backend state).
    const video = await m.encodeVideos(frames, 1);
    await m.classify(video, 1, meta.labels, meta.templates);
    const calls: [string, () => unknown][] = [
      ['encodeFrames', () => m.encodeFrames(frames, 8)],
      ['fuse', () => m.fuse(emb, 1)],
      ['encodeText', () => m.encodeText(tokens, 5)],
      ['encodeVideos', () => m.encodeVideos(frames, 1)],
      ['classify', () => m.classify(video, 1, meta.labels, meta.templates)],
      ['tokenize', () => tokenize(['a photo of action juggling balls'])],
      ['preprocessFrame', () => preprocessFrame(rgb, 48, 40, 32)],
    ];
    for (const [name, call] of calls) {
      const before = tf.memory().numTensors;
      for (let i = 0; i < 100; i++) await call();
      expect(tf.memory().numTensors, `${name} leaked tensors`).toBe(before);
    }
  });

  it('dispose frees every tensor the model held', async () => {
    const before = tf.memory().numTensors;
    const m = await loadModel({ weights: fixture('clip.safetensors'), engine: 'tfjs', backend: 'wasm' });
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
