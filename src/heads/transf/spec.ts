import { blockShapes, checkShape, countBlocks } from '../../model/weights/check-shapes.js';
import { WeightsError } from '../../errors.js';
import { checkFramePositions } from '../frame-positions.js';
import type { HeadSpec } from '../types.js';

export const TRANSF_PREFIX = 'transformer.resblocks.';
/** visual_prompt builds TemporalTransformer(width=D, layers=6, heads=text width / 64). */
export const TRANSF_LAYERS = 6;
/** visual_prompt.py's own LayerNorm (TF style) inside TemporalTransformer. */
export const TRANSF_EPS = 1e-12;

export const transfSpec: HeadSpec<'Transf'> = {
  name: 'Transf',
  aliases: [],
  learned: true,
  owns: (keys) => keys.some((k) => k.startsWith(TRANSF_PREFIX)),
  validate(w, dims, file) {
    checkFramePositions(w, 'Transf', dims, file);
    const layers = countBlocks(w, TRANSF_PREFIX);
    if (layers === 0) throw new WeightsError('missing Transf fusion tensor', file, `${TRANSF_PREFIX}0.attn.in_proj_weight`);
    for (let i = 0; i < layers; i++) for (const [k, s] of blockShapes(`${TRANSF_PREFIX}${i}.`, dims.embedDim)) checkShape(w, k, s, file, 'Transf fusion');
  },
  framesOf: () => null,
};
