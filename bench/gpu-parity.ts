/**
 * The parity check of bench/gpu-check.sh, without vitest: the webgpu engine against the reference
 * fixtures (frame and text embeddings, every head's video embedding and probabilities), with the
 * tolerances of test/engine/parity.test.ts. Also packs the fixtures small for the GPU bundle.
 *
 *   node dist/bench/gpu-parity.js check FIXTURE_DIR [--out FILE.json]   exit 1 when a check fails
 *   node dist/bench/gpu-parity.js pack FIXTURE_DIR OUT_DIR               compact copy (see packFixtures)
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createWebGpuEngine } from '../src/engine/webgpu/webgpu-engine.js';
import { HEAD_NAMES } from '../src/model/heads.js';
import { scoreVideos } from '../src/model/scoring.js';
import { loadWeights } from '../src/model/weights/load-weights.js';
import { readSafetensors, writeSafetensors } from '../src/model/weights/safetensors.js';
import type { TensorMap } from '../src/model/weights/tensor-map.js';

const REL = 1e-3;
const PROB_ABS = 1e-4;

interface Check {
  what: string;
  error: number;
  limit: number;
  unit: 'relative' | 'absolute';
  ok: boolean;
}

function maxError(actual: ArrayLike<number>, expected: ArrayLike<number>, relative: boolean): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return relative ? err / (scale || 1) : err;
}

const data = <T extends Float32Array | Int32Array>(m: TensorMap, k: string): T => {
  const t = m.get(k);
  if (t === undefined) throw new Error(`cases.safetensors has no ${k}`);
  return t.data as T;
};

async function check(dir: string): Promise<{ adapter: string; checks: Check[] }> {
  const cases = (await readSafetensors(path.join(dir, 'cases.safetensors'))).tensors;
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { frames: number; labels: string[]; templates: string[] };
  const checks: Check[] = [];
  const add = (what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, relative = true): void => {
    const error = maxError(actual, expected, relative);
    const limit = relative ? REL : PROB_ABS;
    checks.push({ what, error, limit, unit: relative ? 'relative' : 'absolute', ok: error <= limit });
  };
  const nFrames = cases.get('frames')!.shape[0];
  const nText = cases.get('text_tokens')!.shape[0];
  const b = nFrames / meta.frames;
  // The meanP engine stays open throughout: its lease keeps the device and its compiled shaders.
  const base = await createWebGpuEngine(await loadWeights(dir), { head: 'meanP', frames: meta.frames });
  try {
    add('frame_embeddings', await base.encodeFrames(data(cases, 'frames'), nFrames), data(cases, 'frame_embeddings'));
    const text = await base.encodeText(data(cases, 'text_tokens'), nText);
    add('text_embeddings', text, data(cases, 'text_embeddings'));
    for (const head of HEAD_NAMES) {
      const engine = head === 'meanP' ? base : await createWebGpuEngine(await loadWeights(dir, { fusion: head }), { head, frames: meta.frames });
      try {
        const video = await engine.fuse(data(cases, 'frame_embeddings'), b);
        add(`video_embedding.${head}`, video, data(cases, `video_embedding.${head}`));
        add(`probs.${head}`, scoreVideos(video, b, text, meta.labels.length, meta.templates.length), data(cases, `probs.${head}`), false);
      } finally {
        if (engine !== base) engine.dispose();
      }
    }
    return { adapter: base.info.backend, checks };
  } finally {
    base.dispose();
  }
}

/**
 * A compact copy of the fixtures for a bundle of at most 64 MiB: the token embedding keeps only the
 * rows the test prompts use (49408 rows of random floats are 25 MB), the token ids are renumbered
 * in the same order (so the end-of-text token is still the largest id), and only the cases the check
 * reads are kept. The outputs are unchanged: an embedding lookup reads only those rows.
 */
async function packFixtures(src: string, dst: string): Promise<void> {
  mkdirSync(dst, { recursive: true });
  const clip = (await readSafetensors(path.join(src, 'clip.safetensors'))).tensors;
  const cases = (await readSafetensors(path.join(src, 'cases.safetensors'))).tensors;
  const tokens = cases.get('text_tokens')!;
  const used = [...new Set(tokens.data as Int32Array)].sort((x, y) => x - y);
  const index = new Map(used.map((id, i) => [id, i]));
  const table = clip.get('token_embedding.weight')!;
  const w = table.shape[1];
  const rows = new Float32Array(used.length * w);
  used.forEach((id, i) => rows.set((table.data as Float32Array).subarray(id * w, (id + 1) * w), i * w));
  clip.set('token_embedding.weight', { shape: [used.length, w], dtype: 'float32', data: rows });
  await writeSafetensors(path.join(dst, 'clip.safetensors'), clip);
  const keep: TensorMap = new Map([...cases].filter(([k]) => /^(frames|frame_embeddings|text_embeddings|video_embedding\..*|probs\..*)$/.test(k)));
  keep.set('text_tokens', { ...tokens, data: Int32Array.from(tokens.data as Int32Array, (id) => index.get(id)!) });
  await writeSafetensors(path.join(dst, 'cases.safetensors'), keep);
  copyFileSync(path.join(src, 'meta.json'), path.join(dst, 'meta.json'));
  for (const head of HEAD_NAMES) if (head !== 'meanP') copyFileSync(path.join(src, `fusion-${head}.safetensors`), path.join(dst, `fusion-${head}.safetensors`));
}

async function main(argv: string[]): Promise<number> {
  const [cmd, dir, ...rest] = argv;
  if (cmd === 'pack' && dir !== undefined && rest[0] !== undefined) {
    await packFixtures(dir, rest[0]);
    return 0;
  }
  if (cmd !== 'check' || dir === undefined) {
    process.stderr.write('usage: gpu-parity.js check FIXTURE_DIR [--out FILE] | pack FIXTURE_DIR OUT_DIR\n');
    return 2;
  }
  const result = await check(dir);
  const ok = result.checks.every((c) => c.ok);
  for (const c of result.checks) process.stderr.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.what.padEnd(26)} ${c.error.toExponential(2)} ${c.unit} (limit ${c.limit})\n`);
  const json = `${JSON.stringify({ date: new Date().toISOString(), ok, ...result }, null, 2)}\n`;
  const out = rest[0] === '--out' ? rest[1] : undefined;
  if (out !== undefined) writeFileSync(out, json);
  else process.stdout.write(json);
  return ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
