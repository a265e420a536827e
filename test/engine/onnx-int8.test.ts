/**
 * The ONNX engine's int8 option (dynamic quantization of the encoders' linear layers) against the
 * ActionCLIP fixtures: not held to the fp32 parity tolerances, but its errors are printed and
 * bounded, and the predicted label must not change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createOnnxEngine } from '../../src/engine/onnx/index.js';
import type { Engine } from '../../src/engine/engine.js';
import { HEAD_NAMES } from '../../src/model/heads.js';
import { loadWeights } from '../../src/model/weights/load-weights.js';
import type { TensorMap } from '../../src/model/weights/tensor-map.js';
import { FIXTURE_DIR, HAVE_FIXTURES, fixtureMeta, maxAbsError, maxAbsErrorRelative } from '../support/fixtures.js';
import { referenceCases } from '../support/reference-weights.js';

function probs(video: Float32Array, b: number, text: Float32Array, templates: number, labels: number, d: number): Float64Array {
  const norm = (x: Float32Array, r: number): Float64Array => {
    const out = new Float64Array(d);
    let s = 0;
    for (let i = 0; i < d; i++) s += x[r * d + i] ** 2;
    for (let i = 0; i < d; i++) out[i] = x[r * d + i] / Math.sqrt(s);
    return out;
  };
  const out = new Float64Array(b * labels);
  for (let i = 0; i < b; i++) {
    const v = norm(video, i);
    for (let t = 0; t < templates; t++) {
      const z = Array.from({ length: labels }, (_, l) => {
        const u = norm(text, t * labels + l);
        return 100 * v.reduce((a, x, k) => a + x * u[k], 0);
      });
      const m = Math.max(...z);
      const e = z.map((x) => Math.exp(x - m));
      const sum = e.reduce((a, x) => a + x, 0);
      e.forEach((x, l) => (out[i * labels + l] += x / sum / templates));
    }
  }
  return out;
}

const argmaxRows = (x: ArrayLike<number>, rows: number, cols: number): number[] =>
  Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let c = 1; c < cols; c++) if (x[r * cols + c] > x[r * cols + best]) best = c;
    return best;
  });

describe.skipIf(!HAVE_FIXTURES)('onnx engine, quantize int8', () => {
  let tmp = '';
  let cases: TensorMap;
  let engine: Engine;
  let text: Float32Array | undefined;
  const meta = HAVE_FIXTURES ? fixtureMeta() : null;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'actionclip-int8-'));
    cases = await referenceCases();
    engine = await createOnnxEngine(await loadWeights(FIXTURE_DIR, { fusion: 'meanP' }), { quantize: 'int8', cacheDir: tmp, logger: { info: () => {}, warn: () => {} } });
  });
  afterAll(() => {
    engine?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('encoders stay within a few percent', async () => {
    const frames = cases.get('frames')!;
    const fe = await engine.encodeFrames(frames.data as Float32Array, frames.shape[0]);
    const tok = cases.get('text_tokens')!;
    text = await engine.encodeText(tok.data as Int32Array, tok.shape[0]);
    const fErr = maxAbsErrorRelative(fe, cases.get('frame_embeddings')!.data);
    const tErr = maxAbsErrorRelative(text, cases.get('text_embeddings')!.data);
    console.log(`int8 frame_embeddings ${fErr.toExponential(2)} × max|expected|, text_embeddings ${tErr.toExponential(2)} × max|expected|`);
    expect(fErr).toBeLessThan(0.05);
    expect(tErr).toBeLessThan(0.1);
  });

  test.each([...HEAD_NAMES])('%s: probabilities close, same predicted label', async (head) => {
    const fusion = head === 'meanP' ? engine : await createOnnxEngine(await loadWeights(FIXTURE_DIR, { fusion: head }), { quantize: 'int8', cacheDir: tmp, logger: { info: () => {}, warn: () => {} } });
    try {
      const frames = cases.get('frames')!;
      // The whole int8 path: quantized image encoder, then the (fp32) head.
      const fe = await fusion.encodeFrames(frames.data as Float32Array, frames.shape[0]);
      const b = frames.shape[0] / meta!.frames;
      const video = await fusion.fuse(fe, b);
      const tok = cases.get('text_tokens')!;
      text ??= await engine.encodeText(tok.data as Int32Array, tok.shape[0]);
      const p = probs(video, b, text, meta!.templates.length, meta!.labels.length, fusion.info.clip.embedDim);
      const expected = cases.get(`probs.${head}`)!.data;
      const vErr = maxAbsErrorRelative(video, cases.get(`video_embedding.${head}`)!.data);
      const pErr = maxAbsError(p, expected);
      console.log(`int8 ${head.padEnd(10)} video_embedding ${vErr.toExponential(2)} × max|expected|, probs ${pErr.toExponential(2)} absolute`);
      expect(pErr).toBeLessThan(0.05);
      expect(argmaxRows(p, b, meta!.labels.length)).toEqual(argmaxRows(expected, b, meta!.labels.length));
    } finally {
      if (fusion !== engine) fusion.dispose();
    }
  });
});
