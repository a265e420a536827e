/**
 * Fresh temporal heads for fine-tuning without pre-trained fusion weights, initialised as
 * ActionCLIP's `visual_prompt` does (`init_weights`: Linear/Embedding N(0, 0.02), biases 0,
 * LayerNorm 1/0; MultiheadAttention's in_proj Xavier-uniform; Conv_1D's shift kernel as the
 * fixed 1/4-back, 1/2-identity, 1/4-forward shift; LSTM PyTorch's U(±1/√D); Transf_cls' tokens
 * N(0, 0.02)). Keys are those of a `fusion-<head>.safetensors` without the `module.` prefix.
 */
import type { HeadName } from '../model/heads.js';
import { TEMPORAL_LAYERS } from '../model/fusion/temporal-heads.js';
import type { HostTensor, TensorMap } from '../model/weights/tensor-map.js';
import type { Rng } from './rng.js';

/** TAggregate's nn.TransformerEncoderLayer default feed-forward width. */
const TAGGREGATE_FF = 2048;

function normal(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // Box–Muller: two independent normals per pair of uniforms.
    const u = 1 - rng.next();
    const v = rng.next();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-bound, bound);
  return out;
}

const t = (shape: number[], data: Float32Array): HostTensor => ({ shape, dtype: 'float32', data });
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const zeros = (shape: number[]): HostTensor => t(shape, new Float32Array(size(shape)));
const ones = (shape: number[]): HostTensor => t(shape, new Float32Array(size(shape)).fill(1));
const gauss = (rng: Rng, shape: number[], std = 0.02): HostTensor => t(shape, normal(rng, size(shape), std));

export interface HeadInitOptions {
  /** Joint embedding size D. */
  embedDim: number;
  /** Frames per clip T (Transf_cls' position table has T+1 rows). */
  frames: number;
  /** Rows of the frame position embedding (ActionCLIP: the text context length, 77). */
  contextLength: number;
}

/** New head weights; meanP has none (an empty map). */
export function initFusionHead(head: HeadName, options: HeadInitOptions, rng: Rng): TensorMap {
  const D = options.embedDim;
  const out: TensorMap = new Map();
  if (head === 'meanP') return out;
  out.set('frame_position_embeddings.weight', gauss(rng, [options.contextLength, D]));
  switch (head) {
    case 'Conv_1D': {
      const w = new Float32Array(D * 3);
      const q = Math.floor(D / 4);
      const h = Math.floor(D / 2);
      for (let c = 0; c < q; c++) w[c * 3] = 1;
      for (let c = q; c < q + h; c++) w[c * 3 + 1] = 1;
      // Python's weight[-D//4:] takes the last ceil(D/4) channels.
      for (let c = D - Math.ceil(D / 4); c < D; c++) w[c * 3 + 2] = 1;
      out.set('shift.weight', t([D, 1, 3], w));
      break;
    }
    case 'LSTM': {
      const k = 1 / Math.sqrt(D);
      out.set('lstm_visual.weight_ih_l0', t([4 * D, D], uniform(rng, 4 * D * D, k)));
      out.set('lstm_visual.weight_hh_l0', t([4 * D, D], uniform(rng, 4 * D * D, k)));
      out.set('lstm_visual.bias_ih_l0', t([4 * D], uniform(rng, 4 * D, k)));
      out.set('lstm_visual.bias_hh_l0', t([4 * D], uniform(rng, 4 * D, k)));
      break;
    }
    case 'Transf': {
      const xavier = Math.sqrt(6 / (D + 3 * D));
      for (let i = 0; i < TEMPORAL_LAYERS; i++) {
        const p = `transformer.resblocks.${i}.`;
        out.set(`${p}attn.in_proj_weight`, t([3 * D, D], uniform(rng, 3 * D * D, xavier)));
        out.set(`${p}attn.in_proj_bias`, zeros([3 * D]));
        out.set(`${p}attn.out_proj.weight`, gauss(rng, [D, D]));
        out.set(`${p}attn.out_proj.bias`, zeros([D]));
        out.set(`${p}ln_1.weight`, ones([D]));
        out.set(`${p}ln_1.bias`, zeros([D]));
        out.set(`${p}mlp.c_fc.weight`, gauss(rng, [4 * D, D]));
        out.set(`${p}mlp.c_fc.bias`, zeros([4 * D]));
        out.set(`${p}mlp.c_proj.weight`, gauss(rng, [D, 4 * D]));
        out.set(`${p}mlp.c_proj.bias`, zeros([D]));
        out.set(`${p}ln_2.weight`, ones([D]));
        out.set(`${p}ln_2.bias`, zeros([D]));
      }
      break;
    }
    case 'Transf_cls': {
      out.set('transformer.cls_token', gauss(rng, [1, 1, D]));
      out.set('transformer.pos_embed', gauss(rng, [1, options.frames + 1, D]));
      const xavier = Math.sqrt(6 / (D + 3 * D));
      for (let i = 0; i < TEMPORAL_LAYERS; i++) {
        const p = `transformer.transformer_enc.layers.${i}.`;
        out.set(`${p}self_attn.in_proj_weight`, t([3 * D, D], uniform(rng, 3 * D * D, xavier)));
        out.set(`${p}self_attn.in_proj_bias`, zeros([3 * D]));
        out.set(`${p}self_attn.out_proj.weight`, gauss(rng, [D, D]));
        out.set(`${p}self_attn.out_proj.bias`, zeros([D]));
        out.set(`${p}linear1.weight`, gauss(rng, [TAGGREGATE_FF, D]));
        out.set(`${p}linear1.bias`, zeros([TAGGREGATE_FF]));
        out.set(`${p}linear2.weight`, gauss(rng, [D, TAGGREGATE_FF]));
        out.set(`${p}linear2.bias`, zeros([D]));
        for (const n of ['norm1', 'norm2']) {
          out.set(`${p}${n}.weight`, ones([D]));
          out.set(`${p}${n}.bias`, zeros([D]));
        }
      }
      out.set('transformer.transformer_enc.norm.weight', ones([D]));
      out.set('transformer.transformer_enc.norm.bias', zeros([D]));
      break;
    }
  }
  return out;
}
