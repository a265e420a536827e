/**
 * Transformer building blocks shared by the CLIP encoders and the temporal heads. Activations are
 * kept 2-D `[tokens, width]` so every linear layer is one Gemm on the untransposed torch weight
 * (`transB=1`, which MLAS prepacks once); they are reshaped to 3-D only around attention.
 *
 * Two implementations: 'fused' uses ONNX Runtime's com.microsoft kernels (Attention, QuickGelu,
 * SkipLayerNormalization, which folds the residual add and the next LayerNorm into one pass);
 * 'onnx' uses standard opset-17 ops only, for runtimes without the contrib domain.
 */
import { WeightsError } from '../../errors.js';
import type { TensorMap } from '../../model/weights/tensor-map.js';
import { MS_DOMAIN, type GraphBuilder } from './graph.js';

export type BlockImpl = 'fused' | 'onnx';

/** Float tensors by key, with the file named in errors. */
export class WeightSource {
  constructor(
    private readonly map: TensorMap,
    readonly file: string,
  ) {}

  has(key: string): boolean {
    return this.map.has(key);
  }

  get(key: string, shape?: readonly number[]): { data: Float32Array; shape: readonly number[] } {
    const t = this.map.get(key);
    if (t === undefined) throw new WeightsError('missing tensor', this.file, key);
    if (t.dtype !== 'float32') throw new WeightsError(`expected float32, got ${t.dtype}`, this.file, key);
    if (shape !== undefined && (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))) {
      throw new WeightsError(`shape [${t.shape.join(',')}] where [${shape.join(',')}] was expected`, this.file, key);
    }
    return { data: t.data as Float32Array, shape: t.shape };
  }

  /** Count of `prefix{i}.` blocks. */
  countBlocks(prefix: string): number {
    const ids = new Set<number>();
    for (const k of this.map.keys()) if (k.startsWith(prefix)) ids.add(Number(k.slice(prefix.length).split('.')[0]));
    return ids.size;
  }
}

/** A weight tensor added to the graph as-is. */
export function w(g: GraphBuilder, src: WeightSource, key: string, shape?: readonly number[]): string {
  const t = src.get(key, shape);
  return g.weight(key, t.data, t.shape);
}

export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

export function layerNorm(g: GraphBuilder, x: string, gamma: string, beta: string, eps: number): string {
  return g.op('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: { f: eps } });
}

/** y = x Wᵀ + b with the torch `[out, in]` weight. */
export function linear(g: GraphBuilder, x: string, weight: string, bias?: string): string {
  return g.op('Gemm', bias === undefined ? [x, weight] : [x, weight, bias], { transB: 1 });
}

export function quickGelu(g: GraphBuilder, x: string, impl: BlockImpl): string {
  if (impl === 'fused') return g.op('QuickGelu', [x], { alpha: { f: 1.702 } }, { domain: MS_DOMAIN });
  return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.f(1.702)])])]);
}

/** Shape tensors derived once per graph from the `[n, L]` leading dims. */
export interface SeqShapes {
  /** int64 [2]: n, L. */
  readonly nL: string;
  shape(g: GraphBuilder, tail: readonly number[]): string;
}

export function seqShapes(g: GraphBuilder, x3d: string): SeqShapes {
  const nL = g.op('Slice', [g.op('Shape', [x3d]), g.i64([0]), g.i64([2])]);
  const memo = new Map<string, string>();
  return {
    nL,
    shape(gb: GraphBuilder, tail: readonly number[]): string {
      const key = tail.join(',');
      let s = memo.get(key);
      if (s === undefined) {
        s = gb.op('Concat', [nL, gb.i64(tail)], { axis: 0 });
        memo.set(key, s);
      }
      return s;
    },
  };
}

export interface MhaWeights {
  /** torch in_proj_weight [3D, D] / in_proj_bias [3D] and out_proj. */
  inW: Float32Array;
  inB: Float32Array;
  outW: string;
  outB: string;
  keyPrefix: string;
}

export interface AttnOptions {
  width: number;
  heads: number;
  causal: boolean;
  impl: BlockImpl;
  shapes: SeqShapes;
  /** [77,77] additive causal mask constant (onnx impl), created lazily. */
  maskCache?: { name?: string; size: number };
}

/**
 * torch.nn.MultiheadAttention(x, x, x) on 2-D `[n·L, D]` input, without the out-projection bias
 * (callers add it, fused into SkipLayerNormalization or a Gemm). Returns `[n·L, D]`.
 */
export function selfAttention(g: GraphBuilder, x: string, mw: MhaWeights, o: AttnOptions): string {
  const { width: d, heads: h } = o;
  if (d % h !== 0) throw new Error(`width ${d} is not divisible by ${h} heads`);
  const hd = d / h;
  if (o.impl === 'fused') {
    // com.microsoft.Attention wants [D, 3D] weights (x @ W) and scales by 1/sqrt(head_dim) like torch.
    const wq = g.weight(`${mw.keyPrefix}in_proj_weight_T`, transpose2d(mw.inW, 3 * d, d), [d, 3 * d]);
    const bq = g.weight(`${mw.keyPrefix}in_proj_bias`, mw.inB, [3 * d]);
    const x3 = g.op('Reshape', [x, o.shapes.shape(g, [d])]);
    const a3 = g.op('Attention', [x3, wq, bq], { num_heads: h, unidirectional: o.causal ? 1 : 0 }, { domain: MS_DOMAIN });
    const a = g.op('Reshape', [a3, g.i64([-1, d])]);
    return linear(g, a, mw.outW);
  }
  // torch scales q (after its bias) by 1/sqrt(hd); folding the scale into the q rows is the same product.
  const scale = 1 / Math.sqrt(hd);
  const inW = Float32Array.from(mw.inW);
  const inB = Float32Array.from(mw.inB);
  for (let i = 0; i < d * d; i++) inW[i] *= scale;
  for (let i = 0; i < d; i++) inB[i] *= scale;
  const qkv = linear(g, x, g.weight(`${mw.keyPrefix}in_proj_weight`, inW, [3 * d, d]), g.weight(`${mw.keyPrefix}in_proj_bias`, inB, [3 * d]));
  const qkv4 = g.op('Reshape', [qkv, o.shapes.shape(g, [3 * h, hd])]); // [n, L, 3H, hd]
  const [q0, k0, v0] = g.opN('Split', [qkv4, g.i64([h, h, h])], 3, { axis: 2 });
  const q = g.op('Transpose', [q0], { perm: [0, 2, 1, 3] }); // [n, H, L, hd]
  const kT = g.op('Transpose', [k0], { perm: [0, 2, 3, 1] }); // [n, H, hd, L]
  const v = g.op('Transpose', [v0], { perm: [0, 2, 1, 3] });
  let s = g.op('MatMul', [q, kT]); // [n, H, L, L]
  if (o.causal) {
    const cache = o.maskCache ?? { size: 77 };
    if (cache.name === undefined) {
      const m = new Float32Array(cache.size * cache.size);
      for (let i = 0; i < cache.size; i++) for (let j = i + 1; j < cache.size; j++) m[i * cache.size + j] = -Infinity;
      cache.name = g.weight('causal_mask', m, [cache.size, cache.size]);
      o.maskCache = cache;
    }
    const len = g.op('Slice', [o.shapes.nL, g.i64([1]), g.i64([2])]);
    const ends = g.op('Concat', [len, len], { axis: 0 });
    s = g.op('Add', [s, g.op('Slice', [cache.name, g.i64([0, 0]), ends])]);
  }
  const p = g.op('Softmax', [s], { axis: -1 });
  const ctx = g.op('Transpose', [g.op('MatMul', [p, v])], { perm: [0, 2, 1, 3] }); // [n, L, H, hd]
  return linear(g, g.op('Reshape', [ctx, g.i64([-1, d])]), mw.outW);
}

function mha(g: GraphBuilder, src: WeightSource, prefix: string, d: number): MhaWeights {
  return {
    inW: src.get(`${prefix}in_proj_weight`, [3 * d, d]).data,
    inB: src.get(`${prefix}in_proj_bias`, [3 * d]).data,
    outW: w(g, src, `${prefix}out_proj.weight`, [d, d]),
    outB: w(g, src, `${prefix}out_proj.bias`, [d]),
    keyPrefix: prefix,
  };
}

export interface StackOptions {
  prefix: string;
  layers: number;
  width: number;
  heads: number;
  eps: number;
  causal: boolean;
  impl: BlockImpl;
  shapes: SeqShapes;
  /** A LayerNorm applied to every token after the last block (ln_final / ln_post); its output is returned instead of the residual stream. */
  finalLn?: { gamma: string; beta: string; eps: number };
}

/**
 * CLIP's ResidualAttentionBlock stack (pre-norm): x + attn(ln_1(x)), x + mlp(ln_2(x)), with
 * QuickGELU. Input and output are 2-D `[n·L, D]`.
 */
export function clipStack(g: GraphBuilder, src: WeightSource, x: string, o: StackOptions): string {
  const d = o.width;
  const attnOpts: AttnOptions = { width: d, heads: o.heads, causal: o.causal, impl: o.impl, shapes: o.shapes };
  const ln = (i: number, which: 1 | 2): [string, string] => [w(g, src, `${o.prefix}${i}.ln_${which}.weight`, [d]), w(g, src, `${o.prefix}${i}.ln_${which}.bias`, [d])];
  if (o.impl === 'onnx') {
    let h = x;
    for (let i = 0; i < o.layers; i++) {
      const p = `${o.prefix}${i}.`;
      const [g1, b1] = ln(i, 1);
      const mw = mha(g, src, `${p}attn.`, d);
      h = g.op('Add', [h, g.op('Add', [selfAttention(g, layerNorm(g, h, g1, b1, o.eps), mw, attnOpts), mw.outB])]);
      const [g2, b2] = ln(i, 2);
      const fc = linear(g, layerNorm(g, h, g2, b2, o.eps), w(g, src, `${p}mlp.c_fc.weight`), w(g, src, `${p}mlp.c_fc.bias`));
      h = g.op('Add', [h, linear(g, quickGelu(g, fc, o.impl), w(g, src, `${p}mlp.c_proj.weight`), w(g, src, `${p}mlp.c_proj.bias`))]);
    }
    return o.finalLn ? layerNorm(g, h, o.finalLn.gamma, o.finalLn.beta, o.finalLn.eps) : h;
  }
  // Fused: SkipLayerNormalization(y, residual, γ, β, bias) gives LN(residual + y + bias) and, as
  // output 3, the new residual itself, so each block is two of them and no separate Add/LN pass.
  const [g0, b0] = ln(0, 1);
  let normed = layerNorm(g, x, g0, b0, o.eps);
  let resid = x;
  for (let i = 0; i < o.layers; i++) {
    const p = `${o.prefix}${i}.`;
    const mw = mha(g, src, `${p}attn.`, d);
    const a = selfAttention(g, normed, mw, attnOpts);
    const [g2, b2] = ln(i, 2);
    [normed, , , resid] = g.opSome('SkipLayerNormalization', [a, resid, g2, b2, mw.outB], [true, false, false, true], { epsilon: { f: o.eps } }, { domain: MS_DOMAIN });
    const fc = linear(g, normed, w(g, src, `${p}mlp.c_fc.weight`), w(g, src, `${p}mlp.c_fc.bias`));
    const m = linear(g, quickGelu(g, fc, o.impl), w(g, src, `${p}mlp.c_proj.weight`));
    const bias = w(g, src, `${p}mlp.c_proj.bias`, [d]);
    const last = i === o.layers - 1;
    if (!last) {
      const [gn, bn] = ln(i + 1, 1);
      [normed, , , resid] = g.opSome('SkipLayerNormalization', [m, resid, gn, bn, bias], [true, false, false, true], { epsilon: { f: o.eps } }, { domain: MS_DOMAIN });
    } else if (o.finalLn) {
      return g.op('SkipLayerNormalization', [m, resid, o.finalLn.gamma, o.finalLn.beta, bias], { epsilon: { f: o.finalLn.eps } }, { domain: MS_DOMAIN });
    } else {
      return g.op('Add', [resid, g.op('Add', [m, bias])]);
    }
  }
  return resid;
}

export interface PostNormOptions {
  prefix: string;
  layers: number;
  width: number;
  heads: number;
  eps: number;
  impl: BlockImpl;
  shapes: SeqShapes;
}

/** torch.nn.TransformerEncoderLayer stack, post-norm with ReLU (defaults of nn.TransformerEncoderLayer). */
export function postNormStack(g: GraphBuilder, src: WeightSource, x: string, o: PostNormOptions): string {
  const d = o.width;
  const attnOpts: AttnOptions = { width: d, heads: o.heads, causal: false, impl: o.impl, shapes: o.shapes };
  let h = x;
  for (let i = 0; i < o.layers; i++) {
    const p = `${o.prefix}${i}.`;
    const mw = mha(g, src, `${p}self_attn.`, d);
    const n1 = [w(g, src, `${p}norm1.weight`, [d]), w(g, src, `${p}norm1.bias`, [d])];
    const n2 = [w(g, src, `${p}norm2.weight`, [d]), w(g, src, `${p}norm2.bias`, [d])];
    const a = selfAttention(g, h, mw, attnOpts);
    if (o.impl === 'fused') h = g.op('SkipLayerNormalization', [a, h, n1[0], n1[1], mw.outB], { epsilon: { f: o.eps } }, { domain: MS_DOMAIN });
    else h = layerNorm(g, g.op('Add', [h, g.op('Add', [a, mw.outB])]), n1[0], n1[1], o.eps);
    const ff1 = g.op('Relu', [linear(g, h, w(g, src, `${p}linear1.weight`), w(g, src, `${p}linear1.bias`))]);
    const l2b = w(g, src, `${p}linear2.bias`, [d]);
    if (o.impl === 'fused') {
      h = g.op('SkipLayerNormalization', [linear(g, ff1, w(g, src, `${p}linear2.weight`)), h, n2[0], n2[1], l2b], { epsilon: { f: o.eps } }, { domain: MS_DOMAIN });
    } else {
      h = layerNorm(g, g.op('Add', [h, linear(g, ff1, w(g, src, `${p}linear2.weight`), l2b)]), n2[0], n2[1], o.eps);
    }
  }
  return h;
}
