import { WeightsError } from '../../errors.js';
import type { OnnxHead } from '../../engine/onnx/head-kit.js';
import { FRAME_POSITIONS } from '../frame-positions.js';
import { TRANSF_EPS, TRANSF_PREFIX } from './spec.js';

export const transfOnnx: OnnxHead = (x, kit) => {
  const { g, nn } = kit;
  const s = kit.weights();
  const d = kit.clip.embedDim;
  const t = kit.frames;
  const pos = s.get(FRAME_POSITIONS);
  if (pos.shape[0] < t) throw new WeightsError(`frame_position_embeddings has ${pos.shape[0]} rows, fewer than T=${t}`, s.file, FRAME_POSITIONS);
  const x3 = g.op('Add', [x, g.weight('frame_position_embeddings', pos.data.subarray(0, t * d), [t, d])]);
  const y = nn.clipStack(g, s, g.op('Reshape', [x3, g.i64([-1, d])]), {
    prefix: TRANSF_PREFIX,
    layers: s.countBlocks(TRANSF_PREFIX),
    width: d,
    // ActionCLIP sizes the heads from the text transformer (transformer_width // 64), not from D.
    heads: kit.clip.textHeads,
    eps: TRANSF_EPS,
    causal: false,
    impl: kit.options.impl,
    // The heads are ~1% of the work; they stay fp32 whatever the encoders use.
    quant: 'none',
    shapes: nn.seqShapes(g, x3),
  });
  return kit.meanOverFrames(g.op('Add', [g.op('Reshape', [y, g.i64([-1, t, d])]), x]));
};
