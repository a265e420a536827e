import type { Tensor } from '@tensorflow/tfjs';
import type { TfjsHead, TfjsHeadKit } from '../../engine/tfjs/network/head-kit.js';
import { CLS_TOKEN, ENCODER_PREFIX, FINAL_NORM, POS_EMBED, TAGGREGATE_HEADS, TAGGREGATE_LAYERS } from './spec.js';

/** torch.nn.TransformerEncoderLayer defaults: post-norm, ReLU, no dropout at inference. */
function postNormEncoderLayer(x: Tensor, { tf, nn, param }: TfjsHeadKit, prefix: string): Tensor {
  const g = (n: string): Tensor => param(prefix + n);
  const a = nn.selfAttention(x, g('self_attn.in_proj_weight'), g('self_attn.in_proj_bias'), g('self_attn.out_proj.weight'), g('self_attn.out_proj.bias'), TAGGREGATE_HEADS);
  const h = nn.layerNorm(tf.add(x, a), g('norm1.weight'), g('norm1.bias'));
  const f = nn.linear(tf.relu(nn.linear(h, g('linear1.weight'), g('linear1.bias'))), g('linear2.weight'), g('linear2.bias'));
  return nn.layerNorm(tf.add(h, f), g('norm2.weight'), g('norm2.bias'));
}

/** TAggregate: a CLS token prepended, a post-norm encoder, and the CLS output (no mean, as the reference). */
export const transfClsTfjs: TfjsHead = (x, kit) => {
  const { tf, nn, param } = kit;
  const [b, t, c] = x.shape as [number, number, number];
  const cls = tf.broadcastTo(param(CLS_TOKEN, [1, 1, c]), [b, 1, c]);
  let y = tf.add(tf.concat([cls, x], 1), param(POS_EMBED, [1, t + 1, c]));
  for (let i = 0; i < TAGGREGATE_LAYERS; i++) y = postNormEncoderLayer(y, kit, `${ENCODER_PREFIX}${i}.`);
  y = nn.layerNorm(y, param(`${FINAL_NORM}.weight`), param(`${FINAL_NORM}.bias`));
  return y.slice([0, 0, 0], [b, 1, c]).reshape([b, c]);
};
