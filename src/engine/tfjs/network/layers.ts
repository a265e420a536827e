import * as tf from '@tensorflow/tfjs';
import type { ParamStore } from './params.js';

/** Swaps the last two axes. */
function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  perm[perm.length - 1] = perm.length - 2;
  perm[perm.length - 2] = perm.length - 1;
  return tf.transpose(x, perm);
}

/**
 * a @ b with transposes made explicit, in the forward pass and in the gradient: the wasm backend's
 * matmul with a transpose flag set (which tfjs's own matMul gradient uses) is about 12× slower than
 * a plain one (measured: 2.2 vs 27.9 GFLOP/s), far more than the copy costs.
 */
export const matMul = tf.customGrad((a, b, save) => {
  (save as tf.GradSaveFunc)([a as tf.Tensor, b as tf.Tensor]);
  return {
    value: tf.matMul(a as tf.Tensor, b as tf.Tensor),
    gradFunc: (dy: tf.Tensor, [x, y]: tf.Tensor[]) => [tf.matMul(dy, swapLast(y)), tf.matMul(swapLast(x), dy)],
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** a @ bᵀ over the last two axes. */
export function matMulT(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return matMul(a, swapLast(b));
}

/**
 * Weights also kept transposed (`[in, out]`), made once by an engine that owns them (the webgpu
 * engine: there the per-call transpose of every weight is a copy, and tfjs's transposeB matmul is
 * wrong for some shapes). linear() uses the transposed copy when there is one.
 */
export const transposedWeights = new WeakMap<tf.Tensor, tf.Tensor>();

/** torch.nn.Linear: x @ Wᵀ + b with W in PyTorch's [out, in] layout. */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const shape = x.shape;
  const flat = x.reshape([-1, shape[shape.length - 1]]);
  const wT = transposedWeights.get(w);
  let y = wT === undefined ? matMulT(flat, w) : tf.matMul(flat, wT);
  if (b !== undefined) y = tf.add(y, b);
  return y.reshape([...shape.slice(0, -1), w.shape[0]]);
}

/** LayerNorm over the last axis, computed in float32 as CLIP's LayerNorm subclass does. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): tf.Tensor {
  const axis = x.rank - 1;
  const mean = tf.mean(x, axis, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axis, true);
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

/** CLIP's QuickGELU: x · σ(1.702 x). */
export function quickGelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
}

/**
 * torch.nn.MultiheadAttention self-attention on [B, L, W] (batch first here; the reference runs
 * sequence first, which computes the same). `mask` is added to the [L, L] scores.
 */
export function selfAttention(
  x: tf.Tensor,
  inW: tf.Tensor,
  inB: tf.Tensor,
  outW: tf.Tensor,
  outB: tf.Tensor,
  heads: number,
  mask?: tf.Tensor,
): tf.Tensor {
  const [b, l, w] = x.shape as [number, number, number];
  const hd = w / heads;
  const qkv = linear(x, inW, inB); // [B, L, 3W]
  const split = (i: number): tf.Tensor => qkv.slice([0, 0, i * w], [b, l, w]).reshape([b, l, heads, hd]).transpose([0, 2, 1, 3]);
  // PyTorch scales q before the product; doing the same keeps rounding identical in spirit.
  const q = tf.mul(split(0), 1 / Math.sqrt(hd));
  const k = split(1);
  const v = split(2);
  let scores = matMulT(q, k); // [B, H, L, L]
  if (mask !== undefined) scores = tf.add(scores, mask);
  const attn = tf.softmax(scores, -1);
  const out = matMul(attn, v).transpose([0, 2, 1, 3]).reshape([b, l, w]);
  return linear(out, outW, outB);
}

/**
 * CLIP's ResidualAttentionBlock: x + attn(ln_1(x)); x + mlp(ln_2(x)), with QuickGELU. Runs in its own
 * tidy so that a deep stack frees each block's activations as it goes (the tape keeps what
 * gradients need). `eps`: CLIP's LayerNorm uses 1e-5; ActionCLIP's temporal transformer 1e-12.
 */
export function residualAttentionBlock(x: tf.Tensor, p: ParamStore, prefix: string, heads: number, mask?: tf.Tensor, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => residualAttentionBlockUntidied(x, p, prefix, heads, mask, eps));
}

function residualAttentionBlockUntidied(x: tf.Tensor, p: ParamStore, prefix: string, heads: number, mask: tf.Tensor | undefined, eps: number): tf.Tensor {
  const g = (n: string): tf.Tensor => p.get(prefix + n);
  const a = selfAttention(
    layerNorm(x, g('ln_1.weight'), g('ln_1.bias'), eps),
    g('attn.in_proj_weight'),
    g('attn.in_proj_bias'),
    g('attn.out_proj.weight'),
    g('attn.out_proj.bias'),
    heads,
    mask,
  );
  const h = tf.add(x, a);
  const m = linear(quickGelu(linear(layerNorm(h, g('ln_2.weight'), g('ln_2.bias'), eps), g('mlp.c_fc.weight'), g('mlp.c_fc.bias'))), g('mlp.c_proj.weight'), g('mlp.c_proj.bias'));
  return tf.add(h, m);
}

/** Additive causal mask: -inf above the diagonal, as CLIP's build_attention_mask. */
export function causalMask(l: number): tf.Tensor {
  return tf.tidy(() => {
    const rows = tf.range(0, l).reshape([l, 1]);
    const cols = tf.range(0, l).reshape([1, l]);
    return tf.where(tf.greater(cols, rows), tf.fill([l, l], -Infinity), tf.zeros([l, l]));
  });
}
