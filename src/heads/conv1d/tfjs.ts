import type { Tensor } from '@tensorflow/tfjs';
import type { TfjsHead } from '../../engine/tfjs/network/head-kit.js';
import { SHIFT_WEIGHT } from './spec.js';

/** ActionCLIP's quirk kept: `x.view(b, c, t)` reinterprets the [b,t,c] memory instead of transposing. */
export const conv1dTfjs: TfjsHead = (x, { tf, param }) => {
  const [b, t, c] = x.shape as [number, number, number];
  const viewed = x.reshape([b, c, t]);
  const w = param(SHIFT_WEIGHT, [c, 1, 3]).reshape([c, 3]);
  const padded = tf.pad(viewed, [[0, 0], [0, 0], [1, 1]]);
  // Depthwise cross-correlation, kernel 3, padding 1.
  let y: Tensor = tf.zeros([b, c, t]);
  for (let k = 0; k < 3; k++) y = tf.add(y, tf.mul(padded.slice([0, 0, k], [b, c, t]), w.slice([0, k], [c, 1]).reshape([1, c, 1])));
  return tf.mean(tf.add(y.transpose([0, 2, 1]), x), 1);
};
