import type { Tensor } from '@tensorflow/tfjs';
import type { TfjsHead } from '../../engine/tfjs/network/head-kit.js';
import { LSTM_KEYS } from './spec.js';

/** One LSTM layer unrolled over T, then the residual and the mean over frames. */
export const lstmTfjs: TfjsHead = (x, { tf, nn, param }) => {
  const [b, t, c] = x.shape as [number, number, number];
  const wih = param(LSTM_KEYS.inputWeight, [4 * c, c]);
  const whh = param(LSTM_KEYS.hiddenWeight, [4 * c, c]);
  const bias = tf.add(param(LSTM_KEYS.inputBias, [4 * c]), param(LSTM_KEYS.hiddenBias, [4 * c]));
  const xin = nn.linear(x, wih).add(bias); // [b,t,4c]
  let h: Tensor = tf.zeros([b, c]);
  let cell: Tensor = tf.zeros([b, c]);
  const outs: Tensor[] = [];
  for (let s = 0; s < t; s++) {
    const gates = tf.add(xin.slice([0, s, 0], [b, 1, 4 * c]).reshape([b, 4 * c]), nn.matMulT(h, whh));
    // PyTorch gate order: input, forget, cell, output.
    const [i, f, gg, o] = tf.split(gates, 4, 1);
    cell = tf.add(tf.mul(tf.sigmoid(f), cell), tf.mul(tf.sigmoid(i), tf.tanh(gg)));
    h = tf.mul(tf.sigmoid(o), tf.tanh(cell));
    outs.push(h);
  }
  return tf.mean(tf.add(tf.stack(outs, 1), x), 1);
};
