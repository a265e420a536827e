import * as tf from '@tensorflow/tfjs';
import { matMulT } from '../engine/tfjs/network/layers.js';

/** L2-normalise rows. */
export function l2Normalize(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.norm(x, 'euclidean', -1, true));
}

/** CLIP logits: `exp(logit_scale) · v̂ t̂ᵀ` (per video) and its transpose (per text). */
export function videoTextLogits(video: tf.Tensor, text: tf.Tensor, logitScale: tf.Tensor): { perVideo: tf.Tensor; perText: tf.Tensor } {
  const scale = tf.exp(logitScale.reshape([]));
  const v = l2Normalize(video);
  const t = l2Normalize(text);
  const perVideo = tf.mul(scale, matMulT(v, t));
  return { perVideo, perText: tf.transpose(perVideo) };
}

/** Multi-positive ground truth: every same-label pair in the batch is a positive (ActionCLIP's gen_label). */
export function multiPositiveTargets(labels: ArrayLike<number>): tf.Tensor2D {
  const n = labels.length;
  const gt = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) gt[i * n + j] = labels[i] === labels[j] ? 1 : 0;
  return tf.tensor2d(gt, [n, n]);
}

/**
 * ActionCLIP's KLLoss: KLDivLoss(log_softmax(logits), softmax(10·gt)) with mean reduction over all
 * elements, times the batch size.
 */
export function klLoss(logits: tf.Tensor, groundTruth: tf.Tensor): tf.Scalar {
  const b = logits.shape[0];
  const logP = tf.logSoftmax(logits, 1);
  const q = tf.softmax(tf.mul(groundTruth, 10), 1);
  const kl = tf.mul(q, tf.sub(tf.log(q), logP));
  return tf.mul(tf.mean(kl), b) as tf.Scalar;
}

/** The paper's Eq. 4: symmetric KL video-text contrastive loss, (KL(video) + KL(text)) / 2. */
export function klContrastiveLoss(video: tf.Tensor, text: tf.Tensor, logitScale: tf.Tensor, groundTruth: tf.Tensor): tf.Scalar {
  const { perVideo, perText } = videoTextLogits(video, text, logitScale);
  return tf.div(tf.add(klLoss(perVideo, groundTruth), klLoss(perText, groundTruth)), 2) as tf.Scalar;
}
