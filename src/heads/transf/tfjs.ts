import type { TfjsHead } from '../../engine/tfjs/network/head-kit.js';
import { FRAME_POSITIONS } from '../frame-positions.js';
import { TRANSF_EPS, TRANSF_LAYERS, TRANSF_PREFIX } from './spec.js';

/** ActionCLIP's quirk kept: the head count is the text transformer's (text width / 64), not D / 64. */
export const transfTfjs: TfjsHead = (x, { tf, nn, param, params, prefix, clip }) => {
  const [, t, c] = x.shape as [number, number, number];
  const pos = param(FRAME_POSITIONS, [undefined, c]).slice([0, 0], [t, c]);
  let y = tf.add(x, pos);
  for (let i = 0; i < TRANSF_LAYERS; i++) y = nn.residualAttentionBlock(y, params, `${prefix}${TRANSF_PREFIX}${i}.`, clip.textHeads, undefined, TRANSF_EPS);
  return tf.mean(tf.add(y, x), 1);
};
