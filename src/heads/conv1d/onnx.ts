import type { OnnxHead } from '../../engine/onnx/head-kit.js';
import { SHIFT_WEIGHT } from './spec.js';

export const conv1dOnnx: OnnxHead = (x, kit) => {
  const { g, nn } = kit;
  const d = kit.clip.embedDim;
  // x.view(-1, c, t): a reinterpretation of [b,t,c] memory, not a transpose.
  const v = g.op('Reshape', [x, g.i64([-1, d, kit.frames])]);
  const c = g.op('Conv', [v, nn.w(g, kit.weights(), SHIFT_WEIGHT, [d, 1, 3])], { group: d, kernel_shape: [3], pads: [1, 1] });
  return kit.meanOverFrames(g.op('Add', [g.op('Transpose', [c], { perm: [0, 2, 1] }), x]));
};
