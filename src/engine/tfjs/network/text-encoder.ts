import * as tf from '@tensorflow/tfjs';
import type { ClipConfig } from '../../../model/clip-config.js';
import { layerNorm, matMul, residualAttentionBlock } from './layers.js';
import type { ParamStore } from './params.js';

/**
 * Row lookup into the token embedding. tfjs's gather gradient needs UnsortedSegmentSum, which the
 * wasm backend lacks, so the gradient is a scatter-add (ScatterNd sums duplicate indices).
 */
const embeddingLookup = tf.customGrad((table, ids, save) => {
  const t = table as tf.Tensor2D;
  const flat = (ids as tf.Tensor).reshape([-1]);
  (save as tf.GradSaveFunc)([flat]);
  const value = tf.gather(t, flat);
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
    const [idx] = saved;
    const dTable = tf.scatterND(idx.reshape([-1, 1]), dy.reshape([-1, t.shape[1]]), t.shape);
    return [dTable, tf.zerosLike(idx)];
  };
  return { value, gradFunc };
});

/** CLIP's encode_text: `[n,L]` int token ids to `[n,D]`, the EOT token's features projected. */
export function encodeText(tokens: tf.Tensor, p: ParamStore, cfg: ClipConfig, mask: tf.Tensor): tf.Tensor {
  const [n, l] = tokens.shape as [number, number];
  const w = cfg.textWidth;
  if (l !== cfg.contextLength) throw new Error(`text encoder expects [n,${cfg.contextLength}] tokens, got [${tokens.shape.join(',')}]`);
  const table = p.get('token_embedding.weight', [cfg.vocabSize, w]);
  let x = (embeddingLookup(table, tokens) as tf.Tensor).reshape([n, l, w]);
  x = tf.add(x, p.get('positional_embedding', [l, w]));
  for (let i = 0; i < cfg.textLayers; i++) x = residualAttentionBlock(x, p, `transformer.resblocks.${i}.`, cfg.textHeads, mask);
  x = layerNorm(x, p.get('ln_final.weight'), p.get('ln_final.bias'));
  // The EOT token has the largest id; selecting it with a one-hot product keeps this differentiable.
  const pick = tf.oneHot(tf.argMax(tokens, 1), l).toFloat().reshape([n, 1, l]);
  const eot = matMul(pick, x).reshape([n, w]);
  return matMul(eot, p.get('text_projection', [w, cfg.embedDim]));
}
