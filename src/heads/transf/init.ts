import type { TensorMap } from '../../model/weights/tensor-map.js';
import { initFramePositions } from '../frame-positions.js';
import { gauss, inProjBound, ones, uniform, zeros } from '../init-tensors.js';
import type { HeadInitOptions, HeadRng } from '../types.js';
import { TRANSF_LAYERS, TRANSF_PREFIX } from './spec.js';

/** Linear N(0, 0.02), biases 0, LayerNorm 1/0, in_proj Xavier-uniform (MultiheadAttention's own). */
export function initTransf(options: HeadInitOptions, rng: HeadRng): TensorMap {
  const d = options.embedDim;
  const out = initFramePositions(options, rng);
  for (let i = 0; i < TRANSF_LAYERS; i++) {
    const p = `${TRANSF_PREFIX}${i}.`;
    out.set(`${p}attn.in_proj_weight`, uniform(rng, [3 * d, d], inProjBound(d)));
    out.set(`${p}attn.in_proj_bias`, zeros([3 * d]));
    out.set(`${p}attn.out_proj.weight`, gauss(rng, [d, d]));
    out.set(`${p}attn.out_proj.bias`, zeros([d]));
    out.set(`${p}ln_1.weight`, ones([d]));
    out.set(`${p}ln_1.bias`, zeros([d]));
    out.set(`${p}mlp.c_fc.weight`, gauss(rng, [4 * d, d]));
    out.set(`${p}mlp.c_fc.bias`, zeros([4 * d]));
    out.set(`${p}mlp.c_proj.weight`, gauss(rng, [d, 4 * d]));
    out.set(`${p}mlp.c_proj.bias`, zeros([d]));
    out.set(`${p}ln_2.weight`, ones([d]));
    out.set(`${p}ln_2.bias`, zeros([d]));
  }
  return out;
}
