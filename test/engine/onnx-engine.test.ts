/** The ONNX engine's own machinery: protobuf encoding, graph cache, provider fallback, input checks. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { graphKey } from '../../src/engine/onnx/cache.js';
import { buildImageGraph, buildTextGraph } from '../../src/engine/onnx/clip-graphs.js';
import { buildFusionGraph } from '../../src/engine/onnx/fusion-graphs.js';
import { WeightSource } from '../../src/engine/onnx/weight-source.js';
import { clipConfigFromWeights } from '../../src/model/clip-config.js';
import { HEAD_NAMES } from '../../src/model/heads.js';
import { float32ToFloat16 } from '../../src/engine/onnx/graph.js';
import { type OnnxLogger, createOnnxEngine } from '../../src/engine/onnx/index.js';
import { Msg, varint } from '../../src/engine/onnx/proto.js';
import { providerAvailability } from '../../src/engine/onnx/session.js';
import { halfToFloat } from '../../src/model/weights/float16.js';
import type { EngineWeights } from '../../src/engine/engine.js';
import { HAVE_FIXTURES, maxAbsErrorRelative } from '../support/fixtures.js';
import { referenceCases, referenceWeights } from '../support/reference-weights.js';

function recordingLogger(): OnnxLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info: () => {}, warn: (m) => warnings.push(m) };
}

describe('protobuf writer', () => {
  test('varints, including negative int64 as ten bytes', () => {
    expect([...varint(1)]).toEqual([1]);
    expect([...varint(300)]).toEqual([0xac, 0x02]);
    expect([...varint(-1)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });

  test('nested messages carry their length', () => {
    const inner = new Msg().string(1, 'ab');
    const outer = new Msg().int(2, 7).message(3, inner).finish();
    expect([...outer]).toEqual([0x10, 7, 0x1a, 4, 0x0a, 2, 0x61, 0x62]);
  });
});

test('float32 to float16 rounds to nearest and keeps specials', () => {
  const xs = Float32Array.from([0, -0, 1, -2.5, 65504, 1e-7, 6.1e-5, 70000, Infinity, 0.1, 1 / 3]);
  const back = Array.from(float32ToFloat16(xs), halfToFloat);
  expect(back[2]).toBe(1);
  expect(back[3]).toBe(-2.5);
  expect(back[4]).toBe(65504);
  expect(back[7]).toBe(Infinity);
  expect(back[8]).toBe(Infinity);
  expect(Math.abs(back[9] - 0.1)).toBeLessThan(1e-4);
  expect(Math.abs(back[10] - 1 / 3)).toBeLessThan(2e-4);
  expect(Math.abs(back[5] - 1e-7)).toBeLessThan(6e-8); // subnormal half
  expect(Number.isNaN(halfToFloat(float32ToFloat16(Float32Array.of(NaN))[0]))).toBe(true);
});

test('graph keys change with the weights and with the options', () => {
  const a: EngineWeights['clip'] = new Map([['x', { shape: [2], dtype: 'float32', data: Float32Array.of(1, 2) }]]);
  const b: EngineWeights['clip'] = new Map([['x', { shape: [2], dtype: 'float32', data: Float32Array.of(1, 3) }]]);
  expect(graphKey('image', { impl: 'fused' }, a)).toBe(graphKey('image', { impl: 'fused' }, a));
  expect(graphKey('image', { impl: 'fused' }, a)).not.toBe(graphKey('image', { impl: 'fused' }, b));
  expect(graphKey('image', { impl: 'fused' }, a)).not.toBe(graphKey('image', { impl: 'onnx' }, a));
  expect(graphKey('image', { impl: 'fused' }, a)).not.toBe(graphKey('text', { impl: 'fused' }, a));
});

describe.skipIf(!HAVE_FIXTURES)('createOnnxEngine', () => {
  let tmp = '';
  let weights: EngineWeights;
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'actionclip-onnx-'));
    weights = await referenceWeights('Transf');
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('serialized graphs are cached on disk and reused', async () => {
    const dir = path.join(tmp, 'cache');
    const first = await createOnnxEngine(weights, { cacheDir: dir, logger: recordingLogger() });
    first.dispose();
    expect(first.details.cacheHits).toEqual({ image: false, text: false, fusion: false });
    expect(readdirSync(dir).filter((f) => f.endsWith('.onnx'))).toHaveLength(3);
    const second = await createOnnxEngine(weights, { cacheDir: dir, logger: recordingLogger() });
    second.dispose();
    expect(second.details.cacheHits).toEqual({ image: true, text: true, fusion: true });
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  test('an unavailable GPU provider falls back to cpu and says why; fp16 is then ignored', async () => {
    const logger = recordingLogger();
    const cuda = providerAvailability('cuda');
    const e = await createOnnxEngine(weights, { provider: 'cuda', fp16: true, cacheDir: tmp, logger });
    e.dispose();
    if (cuda.ok) {
      expect(e.info.backend).toBe('cuda');
    } else {
      expect(e.info.backend).toBe('cpu');
      expect(logger.warnings.join('\n')).toContain("'cuda' unavailable");
      expect(logger.warnings.join('\n')).toContain('fp16');
      expect(e.details.floatType).toBe('float32');
    }
  });

  test('head and T come from the weights; inputs are checked', async () => {
    const e = await createOnnxEngine(weights, { cacheDir: tmp, intraOpNumThreads: 1, logger: recordingLogger() });
    try {
      expect(e.info).toMatchObject({ engine: 'onnx', head: 'Transf', frames: 8, joint: false, shift: false });
      expect(e.details.intraOpNumThreads).toBe(1);
      await expect(e.encodeFrames(new Float32Array(10), 1)).rejects.toThrow(ConfigError);
      await expect(e.fuse(new Float32Array(64 * 7), 1)).rejects.toThrow(/expected 512/);
      expect(await e.encodeText(new Int32Array(0), 0)).toHaveLength(0);
    } finally {
      e.dispose();
    }
  });

  test('Joint / Shift are refused with a pointer to the tfjs engine', async () => {
    await expect(createOnnxEngine(weights, { shift: true, cacheDir: tmp })).rejects.toThrow(/tfjs/);
  });
});

/**
 * The fp16 graphs are meant for GPU providers, which this suite may not have. ONNX Runtime's CPU
 * provider still runs them, which proves them well-typed; it computes ops that lack fp16 CPU kernels
 * in fp32 (and folds away cast pairs), so the errors are a lower bound on a GPU's.
 */
describe.skipIf(!HAVE_FIXTURES)('fp16 graphs', () => {
  test.each(['fused', 'onnx'] as const)('%s blocks: encoders and every head within 5e-3', async (impl) => {
    const cases = await referenceCases();
    const o = { impl, floatType: 'float16' as const, quant: 'none' as const };
    const errors: string[] = [];
    const run = async (model: Uint8Array, feeds: Record<string, ort.Tensor>, expected: string): Promise<void> => {
      const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });
      try {
        const out = Object.values(await session.run(feeds))[0].data as Float32Array;
        const err = maxAbsErrorRelative(out, cases.get(expected)!.data);
        errors.push(`${expected} ${err.toExponential(2)}`);
        expect(err, expected).toBeLessThan(5e-3);
      } finally {
        await session.release();
      }
    };
    for (const head of HEAD_NAMES) {
      const w = await referenceWeights(head);
      const cfg = clipConfigFromWeights(w.clip);
      const clip = new WeightSource(w.clip, 'clip');
      if (head === 'meanP') {
        await run(buildImageGraph(clip, cfg, o), { pixels: new ort.Tensor('float32', cases.get('frames')!.data as Float32Array, [16, 3, 32, 32]) }, 'frame_embeddings');
        await run(buildTextGraph(clip, cfg, o), { tokens: new ort.Tensor('int32', cases.get('text_tokens')!.data as Int32Array, [80, 77]) }, 'text_embeddings');
      }
      const fusion = w.fusion === null ? null : new WeightSource(w.fusion, 'fusion');
      await run(buildFusionGraph(head, fusion, cfg, 8, o), { frames: new ort.Tensor('float32', cases.get('frame_embeddings')!.data as Float32Array, [2, 8, 64]) }, `video_embedding.${head}`);
    }
    console.log(`fp16 (${impl}) errors × max|expected|: ${errors.join(', ')}`);
  });
});
