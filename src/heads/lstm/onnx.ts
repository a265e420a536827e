import type { OnnxHead } from '../../engine/onnx/head-kit.js';
import { LSTM_KEYS } from './spec.js';

/** torch's gate blocks are i,f,g,o; ONNX's are i,o,f,c: the four equal row blocks of `data` reordered. */
function onnxGateOrder(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  const blk = data.length / 4;
  [0, 3, 1, 2].forEach((from, to) => out.set(data.subarray(from * blk, (from + 1) * blk), to * blk));
  return out;
}

export const lstmOnnx: OnnxHead = (x, kit) => {
  const { g } = kit;
  const s = kit.weights();
  const d = kit.clip.embedDim;
  const gates = (key: string, shape: number[]): Float32Array => onnxGateOrder(s.get(key, shape).data);
  const bias = new Float32Array(8 * d);
  bias.set(gates(LSTM_KEYS.inputBias, [4 * d]), 0);
  bias.set(gates(LSTM_KEYS.hiddenBias, [4 * d]), 4 * d);
  const wi = g.weight('lstm_W', gates(LSTM_KEYS.inputWeight, [4 * d, d]), [1, 4 * d, d]);
  const wh = g.weight('lstm_R', gates(LSTM_KEYS.hiddenWeight, [4 * d, d]), [1, 4 * d, d]);
  const b = g.weight('lstm_B', bias, [1, 8 * d]);
  const xt = g.op('Transpose', [x], { perm: [1, 0, 2] }); // [T, b, D]
  const [y] = g.opSome('LSTM', [xt, wi, wh, b], [true], { hidden_size: d });
  const yb = g.op('Transpose', [g.op('Squeeze', [y, g.i64([1])])], { perm: [1, 0, 2] });
  return kit.meanOverFrames(g.op('Add', [yb, x]));
};
