/** meanP: the mean of the T frame embeddings, no weights (the paper's zero-shot setting). */
import type { HeadDefinition } from '../types.js';

export const meanP: HeadDefinition<'meanP'> = {
  name: 'meanP',
  aliases: [],
  learned: false,
  owns: () => false,
  validate: () => {},
  framesOf: () => null,
  init: () => new Map(),
  tfjs: (x, { tf }) => tf.mean(x, 1),
  onnx: (x, kit) => kit.meanOverFrames(x),
};
