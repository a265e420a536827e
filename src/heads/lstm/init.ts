import type { TensorMap } from '../../model/weights/tensor-map.js';
import { initFramePositions } from '../frame-positions.js';
import { uniform } from '../init-tensors.js';
import type { HeadInitOptions, HeadRng } from '../types.js';
import { LSTM_KEYS } from './spec.js';

/** PyTorch's own LSTM initialisation, U(±1/√D) (visual_prompt's init_weights leaves it alone). */
export function initLstm(options: HeadInitOptions, rng: HeadRng): TensorMap {
  const d = options.embedDim;
  const k = 1 / Math.sqrt(d);
  const out = initFramePositions(options, rng);
  out.set(LSTM_KEYS.inputWeight, uniform(rng, [4 * d, d], k));
  out.set(LSTM_KEYS.hiddenWeight, uniform(rng, [4 * d, d], k));
  out.set(LSTM_KEYS.inputBias, uniform(rng, [4 * d], k));
  out.set(LSTM_KEYS.hiddenBias, uniform(rng, [4 * d], k));
  return out;
}
