import type { TensorMap } from '../../model/weights/tensor-map.js';
import { initFramePositions } from '../frame-positions.js';
import { gauss, inProjBound, ones, uniform, zeros } from '../init-tensors.js';
import type { HeadInitOptions, HeadRng } from '../types.js';
import { CLS_TOKEN, ENCODER_PREFIX, FINAL_NORM, POS_EMBED, TAGGREGATE_FF, TAGGREGATE_LAYERS } from './spec.js';

/** Tokens N(0, 0.02); encoder layers as visual_prompt's init_weights (Linear N(0, 0.02), LayerNorm 1/0, in_proj Xavier). */
export function initTransfCls(options: HeadInitOptions, rng: HeadRng): TensorMap {
  const d = options.embedDim;
  const out = initFramePositions(options, rng);
  out.set(CLS_TOKEN, gauss(rng, [1, 1, d]));
  out.set(POS_EMBED, gauss(rng, [1, options.frames + 1, d]));
  for (let i = 0; i < TAGGREGATE_LAYERS; i++) {
    const p = `${ENCODER_PREFIX}${i}.`;
    out.set(`${p}self_attn.in_proj_weight`, uniform(rng, [3 * d, d], inProjBound(d)));
    out.set(`${p}self_attn.in_proj_bias`, zeros([3 * d]));
    out.set(`${p}self_attn.out_proj.weight`, gauss(rng, [d, d]));
    out.set(`${p}self_attn.out_proj.bias`, zeros([d]));
    out.set(`${p}linear1.weight`, gauss(rng, [TAGGREGATE_FF, d]));
    out.set(`${p}linear1.bias`, zeros([TAGGREGATE_FF]));
    out.set(`${p}linear2.weight`, gauss(rng, [d, TAGGREGATE_FF]));
    out.set(`${p}linear2.bias`, zeros([d]));
    for (const n of ['norm1', 'norm2']) {
      out.set(`${p}${n}.weight`, ones([d]));
      out.set(`${p}${n}.bias`, zeros([d]));
    }
  }
  out.set(`${FINAL_NORM}.weight`, ones([d]));
  out.set(`${FINAL_NORM}.bias`, zeros([d]));
  return out;
}
