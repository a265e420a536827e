import { WeightsError } from '../../errors.js';
import { checkShape, countBlocks } from '../../model/weights/check-shapes.js';
import type { TensorMap } from '../../model/weights/tensor-map.js';
import { checkFramePositions } from '../frame-positions.js';
import type { HeadSpec } from '../types.js';

export const CLS_TOKEN = 'transformer.cls_token';
/** T+1 rows: the CLS token's position and one per frame. */
export const POS_EMBED = 'transformer.pos_embed';
export const ENCODER_PREFIX = 'transformer.transformer_enc.layers.';
export const FINAL_NORM = 'transformer.transformer_enc.norm';
/** TAggregate(clip_length, embed_dim, n_layers=6). */
export const TAGGREGATE_LAYERS = 6;
/** TAggregate's nn.TransformerEncoderLayer(nhead=8). */
export const TAGGREGATE_HEADS = 8;
/** nn.TransformerEncoderLayer's default feed-forward width. */
export const TAGGREGATE_FF = 2048;
/** nn.TransformerEncoderLayer / nn.LayerNorm default eps. */
export const TORCH_EPS = 1e-5;

function framesOf(w: TensorMap): number | null {
  const pos = w.get(POS_EMBED);
  return pos !== undefined && pos.shape.length === 3 ? pos.shape[1] - 1 : null;
}

function checkEncoderLayer(w: TensorMap, p: string, d: number, ff: number, file: string): void {
  const check = (key: string, shape: number[]): void => checkShape(w, key, shape, file, 'Transf_cls fusion');
  check(`${p}self_attn.in_proj_weight`, [3 * d, d]);
  check(`${p}self_attn.in_proj_bias`, [3 * d]);
  check(`${p}self_attn.out_proj.weight`, [d, d]);
  check(`${p}self_attn.out_proj.bias`, [d]);
  check(`${p}linear1.weight`, [ff, d]);
  check(`${p}linear1.bias`, [ff]);
  check(`${p}linear2.weight`, [d, ff]);
  check(`${p}linear2.bias`, [d]);
  for (const n of ['norm1', 'norm2']) {
    check(`${p}${n}.weight`, [d]);
    check(`${p}${n}.bias`, [d]);
  }
}

export const transfClsSpec: HeadSpec<'Transf_cls'> = {
  name: 'Transf_cls',
  aliases: [],
  learned: true,
  owns: (keys) => keys.includes(CLS_TOKEN) || keys.some((k) => k.startsWith('transformer.transformer_enc.')),
  validate(w, dims, file) {
    const d = dims.embedDim;
    const check = (key: string, shape: number[]): void => checkShape(w, key, shape, file, 'Transf_cls fusion');
    checkFramePositions(w, 'Transf_cls', dims, file);
    check(CLS_TOKEN, [1, 1, d]);
    check(POS_EMBED, [1, (dims.frames ?? framesOf(w) ?? 0) + 1, d]);
    const layers = countBlocks(w, ENCODER_PREFIX);
    if (layers === 0) throw new WeightsError('missing Transf_cls fusion tensor', file, `${ENCODER_PREFIX}0.self_attn.in_proj_weight`);
    const lin1 = w.get(`${ENCODER_PREFIX}0.linear1.weight`);
    const ff = lin1 !== undefined && lin1.shape.length === 2 ? lin1.shape[0] : TAGGREGATE_FF;
    for (let i = 0; i < layers; i++) checkEncoderLayer(w, `${ENCODER_PREFIX}${i}.`, d, ff, file);
    // TAggregate's encoder ends with a LayerNorm.
    check(`${FINAL_NORM}.weight`, [d]);
    check(`${FINAL_NORM}.bias`, [d]);
  },
  framesOf,
};
