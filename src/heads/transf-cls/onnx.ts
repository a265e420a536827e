import type { OnnxHead } from '../../engine/onnx/head-kit.js';
import { CLS_TOKEN, ENCODER_PREFIX, FINAL_NORM, POS_EMBED, TAGGREGATE_HEADS, TORCH_EPS } from './spec.js';

export const transfClsOnnx: OnnxHead = (x, kit) => {
  const { g, nn } = kit;
  const s = kit.weights();
  const d = kit.clip.embedDim;
  const t = kit.frames;
  const pos = s.get(POS_EMBED, [1, t + 1, d]).data;
  const cls = s.get(CLS_TOKEN, [1, 1, d]).data;
  // cls + pos[0] folded host-side: one fp32 rounding per element, as the reference's add.
  const clsRow = new Float32Array(d);
  for (let i = 0; i < d; i++) clsRow[i] = cls[i] + pos[i];
  const body = g.op('Add', [x, g.weight('pos_embed_frames', pos.subarray(d), [t, d])]);
  const b1 = g.op('Concat', [g.op('Slice', [g.op('Shape', [x]), g.i64([0]), g.i64([1])]), g.i64([1, d])], { axis: 0 });
  const x3 = g.op('Concat', [g.op('Expand', [g.weight('cls_token', clsRow, [1, 1, d]), b1]), body], { axis: 1 });
  const y = nn.postNormStack(g, s, g.op('Reshape', [x3, g.i64([-1, d])]), {
    prefix: ENCODER_PREFIX,
    layers: s.countBlocks(ENCODER_PREFIX),
    width: d,
    heads: TAGGREGATE_HEADS,
    eps: TORCH_EPS,
    impl: kit.options.impl,
    quant: 'none',
    shapes: nn.seqShapes(g, x3),
  });
  const first = g.op('Gather', [g.op('Reshape', [y, g.i64([-1, t + 1, d])]), g.i64([0], [])], { axis: 1 });
  return nn.layerNorm(g, first, nn.w(g, s, `${FINAL_NORM}.weight`, [d]), nn.w(g, s, `${FINAL_NORM}.bias`, [d]), TORCH_EPS);
};
