import { headDefinition, type HeadName } from '../../heads/registry.js';
import type { HeadRng } from '../../heads/types.js';
import type { TensorMap } from './tensor-map.js';

/**
 * Random weights with the real shapes of the released CLIP ViTs (and of ActionCLIP's heads), for
 * benchmarks and load tests on machines that cannot download the real ones.
 */
export interface ClipSpec {
  readonly name: string;
  readonly patch: number;
  readonly resolution: number;
  readonly visionWidth: number;
  readonly visionLayers: number;
  readonly embedDim: number;
  readonly textWidth: number;
  readonly textLayers: number;
}

export const CLIP_SPECS: Readonly<Record<'ViT-B/32' | 'ViT-B/16' | 'ViT-L/14', ClipSpec>> = {
  'ViT-B/32': { name: 'ViT-B/32', patch: 32, resolution: 224, visionWidth: 768, visionLayers: 12, embedDim: 512, textWidth: 512, textLayers: 12 },
  'ViT-B/16': { name: 'ViT-B/16', patch: 16, resolution: 224, visionWidth: 768, visionLayers: 12, embedDim: 512, textWidth: 512, textLayers: 12 },
  'ViT-L/14': { name: 'ViT-L/14', patch: 14, resolution: 224, visionWidth: 1024, visionLayers: 24, embedDim: 768, textWidth: 768, textLayers: 12 },
};

const VOCAB = 49408;
const CONTEXT = 77;

/** xorshift32, uniform in [-a, a]: fast enough for 400M values and reproducible; advances `seed`. */
export function uniformNoise(n: number, a: number, seed: { s: number }): Float32Array {
  const out = new Float32Array(n);
  let s = seed.s;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * a;
  }
  seed.s = s;
  return out;
}

function tensorMaker(seed: number, shapeOnly: boolean) {
  const state = { s: seed >>> 0 || 1 };
  const map: TensorMap = new Map();
  const count = (shape: number[]): number => shape.reduce((x, y) => x * y, 1);
  const rand = (key: string, shape: number[], a = 0.02): void => {
    map.set(key, { shape, dtype: 'float32', data: shapeOnly ? new Float32Array(0) : uniformNoise(count(shape), a, state) });
  };
  const fill = (key: string, shape: number[], v: number): void => {
    map.set(key, { shape, dtype: 'float32', data: shapeOnly ? new Float32Array(0) : new Float32Array(count(shape)).fill(v) });
  };
  const ln = (key: string, d: number): void => {
    fill(`${key}.weight`, [d], 1);
    fill(`${key}.bias`, [d], 0);
  };
  const block = (p: string, d: number): void => {
    ln(`${p}ln_1`, d);
    ln(`${p}ln_2`, d);
    rand(`${p}attn.in_proj_weight`, [3 * d, d]);
    rand(`${p}attn.in_proj_bias`, [3 * d]);
    rand(`${p}attn.out_proj.weight`, [d, d]);
    rand(`${p}attn.out_proj.bias`, [d]);
    rand(`${p}mlp.c_fc.weight`, [4 * d, d]);
    rand(`${p}mlp.c_fc.bias`, [4 * d]);
    rand(`${p}mlp.c_proj.weight`, [d, 4 * d]);
    rand(`${p}mlp.c_proj.bias`, [d]);
  };
  return { map, rand, fill, ln, block };
}

/**
 * A CLIP state dict (OpenAI key names) of the given shapes. `shapeOnly` gives every key with its
 * shape and empty data, for checks that read shapes alone.
 */
export function syntheticClipWeights(m: ClipSpec, seed = 0x9e3779b9, shapeOnly = false): TensorMap {
  const t = tensorMaker(seed, shapeOnly);
  const g = m.resolution / m.patch;
  t.rand('visual.conv1.weight', [m.visionWidth, 3, m.patch, m.patch]);
  t.rand('visual.class_embedding', [m.visionWidth]);
  t.rand('visual.positional_embedding', [g * g + 1, m.visionWidth]);
  t.ln('visual.ln_pre', m.visionWidth);
  for (let i = 0; i < m.visionLayers; i++) t.block(`visual.transformer.resblocks.${i}.`, m.visionWidth);
  t.ln('visual.ln_post', m.visionWidth);
  t.rand('visual.proj', [m.visionWidth, m.embedDim]);
  t.rand('token_embedding.weight', [VOCAB, m.textWidth]);
  t.rand('positional_embedding', [CONTEXT, m.textWidth]);
  for (let i = 0; i < m.textLayers; i++) t.block(`transformer.resblocks.${i}.`, m.textWidth);
  t.ln('ln_final', m.textWidth);
  t.rand('text_projection', [m.textWidth, m.embedDim]);
  t.fill('logit_scale', [], Math.log(100));
  return t.map;
}

/** The same xorshift32 as uniformNoise, in [0, 1) for the heads' initialisers. */
function noiseRng(seed: number): HeadRng {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  return { next, uniform: (lo, hi) => lo + (hi - lo) * next() };
}

/**
 * An ActionCLIP fusion head (no `module.` prefix) for embedding size d, as the head's own
 * initialiser draws it (the text context length sizes the position table); null for meanP.
 */
export function syntheticFusionWeights(head: HeadName, d: number, frames: number, seed = 0x1234567): TensorMap | null {
  const def = headDefinition(head);
  return def.learned ? def.init({ embedDim: d, frames, contextLength: CONTEXT }, noiseRng(seed)) : null;
}
