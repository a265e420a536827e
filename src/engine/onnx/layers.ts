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
import { MS_DOMAIN, type GraphBuilder } from './graph.js';
import type { WeightSource } from './weight-source.js';

export type BlockImpl = 'fused' | 'onnx';
/** 'int8': transformer linear layers as com.microsoft.DynamicQuantizeMatMul (int8 weights, per-output-channel scales; activations quantized per call). */
export type Quantization = 'none' | 'int8';

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

/**
 * y = x Wᵀ (+ b) for the torch `[out, in]` weight `wt`, fp32 (Gemm, transB) or int8
 * (DynamicQuantizeMatMul with the weight stored transposed `[in, out]`, symmetric per-column scales).
 */
export function dense(g: GraphBuilder, x: string, hint: string, wt: Float32Array, out: number, inn: number, bias: Float32Array | null, quant: Quantization): string {
  if (wt.length !== out * inn) throw new Error(`${hint}: ${wt.length} weights for [${out},${inn}]`);
  if (quant === 'none') {
    const b = bias === null ? undefined : g.weight(`${hint}.bias`, bias, [out]);
    return linear(g, x, g.weight(`${hint}.weight`, wt, [out, inn]), b);
  }
  const q = new Int8Array(inn * out);
  const scale = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let m = 0;
    for (let i = 0; i < inn; i++) m = Math.max(m, Math.abs(wt[o * inn + i]));
    const sc = m > 0 ? m / 127 : 1;
    scale[o] = sc;
    for (let i = 0; i < inn; i++) q[i * out + o] = Math.round(wt[o * inn + i] / sc);
  }
  const inputs = [x, g.int8(`${hint}.weight_int8`, q, [inn, out]), g.weight(`${hint}.weight_scale`, scale, [out]), ''];
  if (bias !== null) inputs.push(g.weight(`${hint}.bias`, bias, [out]));
  else inputs.pop();
  return g.op('DynamicQuantizeMatMul', inputs, {}, { domain: MS_DOMAIN });
}

/** dense() on the `${key}.weight` [out, in] (and `${key}.bias` when `withBias`) of `src`. */
export function denseKey(g: GraphBuilder, src: WeightSource, x: string, key: string, withBias: boolean, quant: Quantization): string {
  const wt = src.get(`${key}.weight`);
  if (wt.shape.length !== 2) throw new WeightsError(`expected a 2-D weight, got [${wt.shape.join(',')}]`, src.file, `${key}.weight`);
  const [out, inn] = wt.shape;
  return dense(g, x, key, wt.data, out, inn, withBias ? src.get(`${key}.bias`, [out]).data : null, quant);
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
  /** torch in_proj_weight [3D, D] / in_proj_bias [3D], out_proj weight [D, D] and bias (an initializer, added by the caller). */
  inW: Float32Array;
  inB: Float32Array;
  outW: Float32Array;
  outB: string;
  keyPrefix: string;
}

export interface AttnOptions {
  width: number;
  heads: number;
  causal: boolean;
  impl: BlockImpl;
  quant: Quantization;
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
  const outProj = (ctx2d: string): string => dense(g, ctx2d, `${mw.keyPrefix}out_proj`, mw.outW, d, d, null, o.quant);
  if (o.impl === 'fused' && o.quant === 'none') {
    // com.microsoft.Attention wants [D, 3D] weights (x @ W) and scales by 1/sqrt(head_dim) like torch.
    const wq = g.weight(`${mw.keyPrefix}in_proj_weight_T`, transpose2d(mw.inW, 3 * d, d), [d, 3 * d]);
    const bq = g.weight(`${mw.keyPrefix}in_proj_bias`, mw.inB, [3 * d]);
    const x3 = g.op('Reshape', [x, o.shapes.shape(g, [d])]);
    const a3 = g.op('Attention', [x3, wq, bq], { num_heads: h, unidirectional: o.causal ? 1 : 0 }, { domain: MS_DOMAIN });
    return outProj(g.op('Reshape', [a3, g.i64([-1, d])]));
  }
  if (o.impl === 'fused') {
    // Quantized projection, then com.microsoft.MultiHeadAttention on separate Q, K, V [n, L, D].
    const qkv = dense(g, x, `${mw.keyPrefix}in_proj`, mw.inW, 3 * d, d, mw.inB, o.quant);
    const [q, k, v] = g.opN('Split', [qkv, g.i64([d, d, d])], 3, { axis: 1 }).map((t) => g.op('Reshape', [t, o.shapes.shape(g, [d])]));
    const maskInputs: string[] = [];
    if (o.causal) maskInputs.push('', '', causalBias(g, o, true));
    const a3 = g.op('MultiHeadAttention', [q, k, v, ...maskInputs], { num_heads: h }, { domain: MS_DOMAIN });
    return outProj(g.op('Reshape', [a3, g.i64([-1, d])]));
  }
  // torch scales q (after its bias) by 1/sqrt(hd); folding the scale into the q rows is the same product.
  const scale = 1 / Math.sqrt(hd);
  const inW = Float32Array.from(mw.inW);
  const inB = Float32Array.from(mw.inB);
  for (let i = 0; i < d * d; i++) inW[i] *= scale;
  for (let i = 0; i < d; i++) inB[i] *= scale;
  const qkv = dense(g, x, `${mw.keyPrefix}in_proj`, inW, 3 * d, d, inB, o.quant);
  const qkv4 = g.op('Reshape', [qkv, o.shapes.shape(g, [3 * h, hd])]); // [n, L, 3H, hd]
  const [q0, k0, v0] = g.opN('Split', [qkv4, g.i64([h, h, h])], 3, { axis: 2 });
  const q = g.op('Transpose', [q0], { perm: [0, 2, 1, 3] }); // [n, H, L, hd]
  const kT = g.op('Transpose', [k0], { perm: [0, 2, 3, 1] }); // [n, H, hd, L]
  const v = g.op('Transpose', [v0], { perm: [0, 2, 1, 3] });
  let s = g.op('MatMul', [q, kT]); // [n, H, L, L]
  if (o.causal) s = g.op('Add', [s, causalBias(g, o, false)]);
  const p = g.op('Softmax', [s], { axis: -1 });
  const ctx = g.op('Transpose', [g.op('MatMul', [p, v])], { perm: [0, 2, 1, 3] }); // [n, L, H, hd]
  return outProj(g.op('Reshape', [ctx, g.i64([-1, d])]));
}

/** The additive causal mask cut to the current length: `[L, L]`, or `[1, 1, L, L]` for MultiHeadAttention's attention_bias. */
function causalBias(g: GraphBuilder, o: AttnOptions, fourD: boolean): string {
  const cache = o.maskCache ?? { size: 77 };
  if (cache.name === undefined) {
    const m = new Float32Array(cache.size * cache.size);
    // A large finite value rather than -inf: MultiHeadAttention adds it to scaled scores in place.
    for (let i = 0; i < cache.size; i++) for (let j = i + 1; j < cache.size; j++) m[i * cache.size + j] = fourD ? -1e9 : -Infinity;
    cache.name = g.weight('causal_mask', m, [cache.size, cache.size]);
    o.maskCache = cache;
  }
  const len = g.op('Slice', [o.shapes.nL, g.i64([1]), g.i64([2])]);
  const ends = g.op('Concat', [len, len], { axis: 0 });
  const cut = g.op('Slice', [cache.name, g.i64([0, 0]), ends]);
  return fourD ? g.op('Unsqueeze', [cut, g.i64([0, 1])]) : cut;
}

function mha(g: GraphBuilder, src: WeightSource, prefix: string, d: number): MhaWeights {
  return {
    inW: src.get(`${prefix}in_proj_weight`, [3 * d, d]).data,
    inB: src.get(`${prefix}in_proj_bias`, [3 * d]).data,
    outW: src.get(`${prefix}out_proj.weight`, [d, d]).data,
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
  quant: Quantization;
  shapes: SeqShapes;
  /** A LayerNorm applied to every token after the last block (ln_final / ln_post); its output is returned instead of the residual stream. */
  finalLn?: { gamma: string; beta: string; eps: number };
  /**
   * Rows the caller keeps from the output (CLS, or each prompt's EOT), `[n·L, D] → [n, D]`. The last
   * block's attention still reads every token, but its residual add and MLP (about 1/L_layers of the
   * work) then run on those rows only.
   */
  selectRows?: (rows: string) => string;
}

/**
 * CLIP's ResidualAttentionBlock stack (pre-norm): x + attn(ln_1(x)), x + mlp(ln_2(x)), with
 * QuickGELU. Input and output are 2-D `[n·L, D]`.
 */
export function clipStack(g: GraphBuilder, src: WeightSource, x: string, o: StackOptions): string {
  const d = o.width;
  const attnOpts: AttnOptions = { width: d, heads: o.heads, causal: o.causal, impl: o.impl, quant: o.quant, shapes: o.shapes };
  const ln = (i: number, which: 1 | 2): [string, string] => [w(g, src, `${o.prefix}${i}.ln_${which}.weight`, [d]), w(g, src, `${o.prefix}${i}.ln_${which}.bias`, [d])];
  if (o.impl === 'onnx') {
    let h = x;
    for (let i = 0; i < o.layers; i++) {
      const p = `${o.prefix}${i}.`;
      const [g1, b1] = ln(i, 1);
      const mw = mha(g, src, `${p}attn.`, d);
      let att = g.op('Add', [selfAttention(g, layerNorm(g, h, g1, b1, o.eps), mw, attnOpts), mw.outB]);
      if (i === o.layers - 1 && o.selectRows) {
        h = o.selectRows(h);
        att = o.selectRows(att);
      }
      h = g.op('Add', [h, att]);
      const [g2, b2] = ln(i, 2);
      const fc = denseKey(g, src, layerNorm(g, h, g2, b2, o.eps), `${p}mlp.c_fc`, true, o.quant);
      h = g.op('Add', [h, denseKey(g, src, quickGelu(g, fc, o.impl), `${p}mlp.c_proj`, true, o.quant)]);
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
    let a = selfAttention(g, normed, mw, attnOpts);
    if (i === o.layers - 1 && o.selectRows) {
      a = o.selectRows(a);
      resid = o.selectRows(resid);
    }
    const [g2, b2] = ln(i, 2);
    [normed, , , resid] = g.opSome('SkipLayerNormalization', [a, resid, g2, b2, mw.outB], [true, false, false, true], { epsilon: { f: o.eps } }, { domain: MS_DOMAIN });
    const fc = denseKey(g, src, normed, `${p}mlp.c_fc`, true, o.quant);
    const m = denseKey(g, src, quickGelu(g, fc, o.impl), `${p}mlp.c_proj`, false, o.quant);
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
  quant: Quantization;
  shapes: SeqShapes;
}

/** torch.nn.TransformerEncoderLayer stack, post-norm with ReLU (defaults of nn.TransformerEncoderLayer). */
export function postNormStack(g: GraphBuilder, src: WeightSource, x: string, o: PostNormOptions): string {
  const d = o.width;
  const attnOpts: AttnOptions = { width: d, heads: o.heads, causal: false, impl: o.impl, quant: o.quant, shapes: o.shapes };
  let h = x;
  for (let i = 0; i < o.layers; i++) {
    const p = `${o.prefix}${i}.`;
    const mw = mha(g, src, `${p}self_attn.`, d);
    const n1 = [w(g, src, `${p}norm1.weight`, [d]), w(g, src, `${p}norm1.bias`, [d])];
    const n2 = [w(g, src, `${p}norm2.weight`, [d]), w(g, src, `${p}norm2.bias`, [d])];
    const a = selfAttention(g, h, mw, attnOpts);
    if (o.impl === 'fused') h = g.op('SkipLayerNormalization', [a, h, n1[0], n1[1], mw.outB], { epsilon: { f: o.eps } }, { domain: MS_DOMAIN });
    else h = layerNorm(g, g.op('Add', [h, g.op('Add', [a, mw.outB])]), n1[0], n1[1], o.eps);
    const ff1 = g.op('Relu', [denseKey(g, src, h, `${p}linear1`, true, o.quant)]);
    const l2b = w(g, src, `${p}linear2.bias`, [d]);
    if (o.impl === 'fused') {
      h = g.op('SkipLayerNormalization', [denseKey(g, src, ff1, `${p}linear2`, false, o.quant), h, n2[0], n2[1], l2b], { epsilon: { f: o.eps } }, { domain: MS_DOMAIN });
    } else {
      h = layerNorm(g, g.op('Add', [h, g.op('Add', [denseKey(g, src, ff1, `${p}linear2`, false, o.quant), l2b])]), n2[0], n2[1], o.eps);
    }
  }
  return h;
}
