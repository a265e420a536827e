import type { TensorMap } from '../../model/weights/tensor-map.js';
import { initFramePositions } from '../frame-positions.js';
import { hostTensor } from '../init-tensors.js';
import type { HeadInitOptions, HeadRng } from '../types.js';
import { SHIFT_WEIGHT } from './spec.js';

/** The fixed temporal shift ActionCLIP starts from: 1/4 of the channels look back, 1/2 stay, 1/4 look ahead. */
export function initConv1d(options: HeadInitOptions, rng: HeadRng): TensorMap {
  const d = options.embedDim;
  const out = initFramePositions(options, rng);
  const w = new Float32Array(d * 3);
  const q = Math.floor(d / 4);
  const h = Math.floor(d / 2);
  for (let c = 0; c < q; c++) w[c * 3] = 1;
  for (let c = q; c < q + h; c++) w[c * 3 + 1] = 1;
  // Python's weight[-D//4:] takes the last ceil(D/4) channels.
  for (let c = d - Math.ceil(d / 4); c < d; c++) w[c * 3 + 2] = 1;
  out.set(SHIFT_WEIGHT, hostTensor([d, 1, 3], w));
  return out;
}
