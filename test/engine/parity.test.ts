/**
 * Every engine against the reference fixtures made by the original ActionCLIP PyTorch code:
 * frame and text embeddings, each temporal head's video embedding, logits and test-time
 * (template-averaged) probabilities. One suite, parametrised by ENGINE_FACTORIES.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { HEAD_NAMES, type HeadName } from '../../src/model/heads.js';
import { loadWeights } from '../../src/model/weights/load-weights.js';
import type { TensorMap } from '../../src/model/weights/tensor-map.js';
import { ENGINE_FACTORIES } from '../support/engines.js';
import { FIXTURE_DIR, HAVE_FIXTURES, fixtureMeta, maxAbsError, maxAbsErrorRelative } from '../support/fixtures.js';
import { referenceCases } from '../support/reference-weights.js';

/** max |err| ≤ REL × max |expected| for embeddings and logits; probabilities absolute. */
const REL = 1e-3;
const PROB_ABS = 1e-4;

function l2rows(x: Float32Array, rows: number, d: number): Float64Array {
  const out = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += x[r * d + i] ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < d; i++) out[r * d + i] = x[r * d + i] * inv;
  }
  return out;
}

/** scale · v̂ t̂ᵀ: [b, n]. */
function cosineLogits(v: Float32Array, b: number, t: Float32Array, n: number, d: number, scale: number): Float64Array {
  const vn = l2rows(v, b, d);
  const tn = l2rows(t, n, d);
  const out = new Float64Array(b * n);
  for (let i = 0; i < b; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += vn[i * d + k] * tn[j * d + k];
      out[i * n + j] = scale * s;
    }
  return out;
}

/** ActionCLIP test-time scoring: (100 v̂ t̂ᵀ).view(b, templates, labels).softmax(-1).mean(1). */
function templateProbs(v: Float32Array, b: number, t: Float32Array, templates: number, labels: number, d: number): Float64Array {
  const logits = cosineLogits(v, b, t, templates * labels, d, 100);
  const out = new Float64Array(b * labels);
  for (let i = 0; i < b; i++)
    for (let tp = 0; tp < templates; tp++) {
      const row = logits.subarray(i * templates * labels + tp * labels, i * templates * labels + (tp + 1) * labels);
      const m = Math.max(...row);
      const e = Array.from(row, (x) => Math.exp(x - m));
      const z = e.reduce((a, c) => a + c, 0);
      for (let l = 0; l < labels; l++) out[i * labels + l] += e[l] / z / templates;
    }
  return out;
}

const f32 = (m: TensorMap, k: string): Float32Array => {
  const t = m.get(k);
  if (t === undefined) throw new Error(`cases.safetensors has no ${k}`);
  return t.data as Float32Array;
};

describe.skipIf(!HAVE_FIXTURES).each(ENGINE_FACTORIES)('engine parity: $name', (factory) => {
  const report: string[] = [];
  const log = (what: string, value: number, limit: number, unit = '× max|expected|'): void => {
    const line = `${factory.name.padEnd(24)} ${what.padEnd(28)} ${value.toExponential(2)} ${unit} (limit ${limit.toExponential(0)})`;
    report.push(line);
    console.log(line);
  };
  let skip: string | null = null;
  let tmpDir = '';
  let cases: TensorMap;
  let textEmb: Float32Array | null = null;
  const meta = HAVE_FIXTURES ? fixtureMeta() : null;
  const engines = new Map<HeadName, Engine>();

  const engineFor = async (head: HeadName): Promise<Engine> => {
    let e = engines.get(head);
    if (e === undefined) {
      const weights = await loadWeights(FIXTURE_DIR, { fusion: head });
      e = await factory.create(weights, { head, frames: meta!.frames, tmpDir });
      engines.set(head, e);
    }
    return e;
  };

  beforeAll(async () => {
    skip = await factory.unavailable();
    if (skip !== null) console.warn(`[parity] ${factory.name} SKIPPED: ${skip}`);
    tmpDir = mkdtempSync(path.join(os.tmpdir(), 'actionclip-parity-'));
    cases = await referenceCases();
  });

  afterAll(() => {
    for (const e of engines.values()) e.dispose();
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
    if (report.length > 0) console.log(`\nparity errors, ${factory.name}:\n${report.join('\n')}`);
  });

  test('frame_embeddings from frames', async (ctx) => {
    if (skip !== null) return ctx.skip();
    const e = await engineFor('meanP');
    const n = cases.get('frames')!.shape[0];
    const got = await e.encodeFrames(f32(cases, 'frames'), n);
    const err = maxAbsErrorRelative(got, f32(cases, 'frame_embeddings'));
    log('frame_embeddings', err, REL);
    expect(err).toBeLessThanOrEqual(REL);
  });

  test('text_embeddings from text_tokens', async (ctx) => {
    if (skip !== null) return ctx.skip();
    const e = await engineFor('meanP');
    const tok = cases.get('text_tokens')!;
    textEmb = await e.encodeText(tok.data as Int32Array, tok.shape[0]);
    const err = maxAbsErrorRelative(textEmb, f32(cases, 'text_embeddings'));
    log('text_embeddings', err, REL);
    expect(err).toBeLessThanOrEqual(REL);
  });

  describe.each([...HEAD_NAMES])('%s head', (head) => {
    test('video_embedding, logits and template-averaged probs', async (ctx) => {
      if (skip !== null) return ctx.skip();
      const e = await engineFor(head);
      expect(e.info.head).toBe(head);
      const fe = cases.get('frame_embeddings')!;
      const [frames, d] = fe.shape;
      const b = frames / meta!.frames;
      const video = await e.fuse(fe.data as Float32Array, b);
      const vErr = maxAbsErrorRelative(video, f32(cases, `video_embedding.${head}`));
      log(`video_embedding.${head}`, vErr, REL);

      // Logits and probs from this engine's own text embeddings (host-side scoring).
      const tok = cases.get('text_tokens')!;
      const text = textEmb ?? (await (await engineFor('meanP')).encodeText(tok.data as Int32Array, tok.shape[0]));
      const logits = cosineLogits(video, b, text, tok.shape[0], d, Math.exp(meta!.logit_scale));
      const lErr = maxAbsErrorRelative(logits, f32(cases, `logits.${head}`));
      log(`logits.${head}`, lErr, REL);
      const probs = templateProbs(video, b, text, meta!.templates.length, meta!.labels.length, d);
      const pErr = maxAbsError(probs, f32(cases, `probs.${head}`));
      log(`probs.${head}`, pErr, PROB_ABS, 'absolute');

      // Engines that run frames to video in one pass (no readback between the stages).
      let fErr = 0;
      if (e.encodeVideos !== undefined) {
        fErr = maxAbsErrorRelative(await e.encodeVideos(f32(cases, 'frames'), b), f32(cases, `video_embedding.${head}`));
        log(`encodeVideos.${head}`, fErr, REL);
      }

      expect(vErr).toBeLessThanOrEqual(REL);
      expect(lErr).toBeLessThanOrEqual(REL);
      expect(pErr).toBeLessThanOrEqual(PROB_ABS);
      expect(fErr).toBeLessThanOrEqual(REL);
    });
  });
});
