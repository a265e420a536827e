import * as tf from '@tensorflow/tfjs';
import type { ClipConfig } from '../clip-config.js';
import { layerNorm, linear, matMulT, residualAttentionBlock, selfAttention } from '../clip/layers.js';
import type { ParamStore } from '../clip/params.js';
import type { HeadName } from '../heads.js';

/** Keys of the fusion head live under this prefix in the ParamStore. */
export const FUSION_PREFIX = 'fusion.';

/** ActionCLIP fixes the temporal transformers' depth at 6 layers (visual_prompt.py). */
export const TEMPORAL_LAYERS = 6;
/** TAggregate's nn.TransformerEncoderLayer(nhead=8). */
export const TAGGREGATE_HEADS = 8;
/** visual_prompt.py's own LayerNorm (TF style) inside TemporalTransformer. */
export const TEMPORAL_LAYERNORM_EPS = 1e-12;

/**
 * ActionCLIP's visual_prompt forward: `[b,T,D]` frame embeddings to `[b,D]`. Reference quirks kept:
 * Conv_1D views [b,t,c] as [b,c,t] instead of transposing; Transf uses the text transformer's head
 * count (text width / 64); Transf_cls returns the CLS output without a mean.
 */
export function fuseFrames(x: tf.Tensor, head: HeadName, p: ParamStore, cfg: ClipConfig): tf.Tensor {
  const [b, t, c] = x.shape as [number, number, number];
  const g = (n: string, shape?: (number | undefined)[]): tf.Tensor => p.get(FUSION_PREFIX + n, shape);
  switch (head) {
    case 'meanP':
      return tf.mean(x, 1);
    case 'Conv_1D': {
      const viewed = x.reshape([b, c, t]);
      const w = g('shift.weight', [c, 1, 3]).reshape([c, 3]);
      const padded = tf.pad(viewed, [[0, 0], [0, 0], [1, 1]]);
      // Depthwise cross-correlation, kernel 3, padding 1.
      let y = tf.zeros([b, c, t]) as tf.Tensor;
      for (let k = 0; k < 3; k++) y = tf.add(y, tf.mul(padded.slice([0, 0, k], [b, c, t]), w.slice([0, k], [c, 1]).reshape([1, c, 1])));
      return tf.mean(tf.add(y.transpose([0, 2, 1]), x), 1);
    }
    case 'LSTM': {
      const wih = g('lstm_visual.weight_ih_l0', [4 * c, c]);
      const whh = g('lstm_visual.weight_hh_l0', [4 * c, c]);
      const bias = tf.add(g('lstm_visual.bias_ih_l0', [4 * c]), g('lstm_visual.bias_hh_l0', [4 * c]));
      const xin = linear(x, wih).add(bias); // [b,t,4c]
      let h = tf.zeros([b, c]) as tf.Tensor;
      let cell = tf.zeros([b, c]) as tf.Tensor;
      const outs: tf.Tensor[] = [];
      for (let s = 0; s < t; s++) {
        const gates = tf.add(xin.slice([0, s, 0], [b, 1, 4 * c]).reshape([b, 4 * c]), matMulT(h, whh));
        // PyTorch gate order: input, forget, cell, output.
        const [i, f, gg, o] = tf.split(gates, 4, 1);
        cell = tf.add(tf.mul(tf.sigmoid(f), cell), tf.mul(tf.sigmoid(i), tf.tanh(gg)));
        h = tf.mul(tf.sigmoid(o), tf.tanh(cell));
        outs.push(h);
      }
      return tf.mean(tf.add(tf.stack(outs, 1), x), 1);
    }
    case 'Transf': {
      const pos = g('frame_position_embeddings.weight', [undefined, c]).slice([0, 0], [t, c]);
      let y = tf.add(x, pos);
      for (let i = 0; i < TEMPORAL_LAYERS; i++) y = residualAttentionBlock(y, p, `${FUSION_PREFIX}transformer.resblocks.${i}.`, cfg.textHeads, undefined, TEMPORAL_LAYERNORM_EPS);
      return tf.mean(tf.add(y, x), 1);
    }
    case 'Transf_cls': {
      const cls = tf.broadcastTo(g('transformer.cls_token', [1, 1, c]), [b, 1, c]);
      let y = tf.add(tf.concat([cls, x], 1), g('transformer.pos_embed', [1, t + 1, c]));
      for (let i = 0; i < TEMPORAL_LAYERS; i++) y = postNormEncoderLayer(y, p, `${FUSION_PREFIX}transformer.transformer_enc.layers.${i}.`);
      y = layerNorm(y, g('transformer.transformer_enc.norm.weight'), g('transformer.transformer_enc.norm.bias'));
      return y.slice([0, 0, 0], [b, 1, c]).reshape([b, c]);
    }
  }
}

/** torch.nn.TransformerEncoderLayer defaults: post-norm, ReLU, no dropout at inference. */
function postNormEncoderLayer(x: tf.Tensor, p: ParamStore, prefix: string): tf.Tensor {
  const g = (n: string): tf.Tensor => p.get(prefix + n);
  const a = selfAttention(x, g('self_attn.in_proj_weight'), g('self_attn.in_proj_bias'), g('self_attn.out_proj.weight'), g('self_attn.out_proj.bias'), TAGGREGATE_HEADS);
  const h = layerNorm(tf.add(x, a), g('norm1.weight'), g('norm1.bias'));
  const f = linear(tf.relu(linear(h, g('linear1.weight'), g('linear1.bias'))), g('linear2.weight'), g('linear2.bias'));
  return layerNorm(tf.add(h, f), g('norm2.weight'), g('norm2.bias'));
}
