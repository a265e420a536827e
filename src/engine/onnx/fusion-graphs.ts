/**
 * ActionCLIP's post-network temporal heads (modules/visual_prompt.py, `visual_prompt.forward`):
 * `frames [b,T,D]` to `video [b,D]`. Weight keys are the fusion state dict without `module.`.
 */
import { WeightsError } from '../../errors.js';
import type { ClipConfig } from '../../model/clip-config.js';
import type { HeadName } from '../../model/heads.js';
import type { GraphOptions } from './clip-graphs.js';
import { GraphBuilder } from './graph.js';
import { type WeightSource, clipStack, layerNorm, postNormStack, seqShapes, w } from './layers.js';

/** visual_prompt.py defines its own TF-style LayerNorm with eps 1e-12 for the Transf head's blocks. */
const TRANSF_EPS = 1e-12;
/** nn.TransformerEncoderLayer / nn.LayerNorm default eps, used by TAggregate (Transf_cls). */
const TORCH_EPS = 1e-5;
/** TAggregate builds nn.TransformerEncoderLayer(d_model=embed_dim, nhead=8). */
const TAGGREGATE_HEADS = 8;

/** Which head a fusion state dict holds, from its keys. */
export function detectHead(fusion: WeightSource | null): HeadName {
  if (fusion === null) return 'meanP';
  if (fusion.has('shift.weight')) return 'Conv_1D';
  if (fusion.has('lstm_visual.weight_ih_l0')) return 'LSTM';
  if (fusion.has('transformer.cls_token')) return 'Transf_cls';
  if (fusion.has('transformer.resblocks.0.attn.in_proj_weight')) return 'Transf';
  return 'meanP';
}

/** T fixed by the weights (Transf_cls's pos_embed holds T+1 rows), else null. */
export function framesFromFusion(fusion: WeightSource | null, head: HeadName): number | null {
  if (fusion !== null && head === 'Transf_cls') return fusion.get('transformer.pos_embed').shape[1] - 1;
  return null;
}

export function buildFusionGraph(head: HeadName, src: WeightSource | null, cfg: ClipConfig, frames: number, o: GraphOptions): Uint8Array {
  const g = new GraphBuilder(`fusion_${head}`, o.floatType);
  const d = cfg.embedDim;
  const t = frames;
  const x = g.input('frames', ['b', t, d]);
  const need = (): WeightSource => {
    if (src === null) throw new WeightsError(`the ${head} head needs fusion weights`, '<fusion>');
    return src;
  };
  const mean = (v: string): string => g.op('ReduceMean', [v], { axes: [1], keepdims: 0 });
  let out: string;
  switch (head) {
    case 'meanP':
      out = mean(x);
      break;
    case 'Conv_1D': {
      // x.view(-1, c, t): a reinterpretation of [b,t,c] memory, not a transpose.
      const v = g.op('Reshape', [x, g.i64([-1, d, t])]);
      const c = g.op('Conv', [v, w(g, need(), 'shift.weight', [d, 1, 3])], { group: d, kernel_shape: [3], pads: [1, 1] });
      out = mean(g.op('Add', [g.op('Transpose', [c], { perm: [0, 2, 1] }), x]));
      break;
    }
    case 'LSTM': {
      const s = need();
      // torch gate blocks are i,f,g,o; ONNX's are i,o,f,c.
      const reorder = (key: string, cols: number): Float32Array => {
        const src4 = s.get(key).data;
        const out4 = new Float32Array(src4.length);
        const blk = d * cols;
        [0, 3, 1, 2].forEach((from, to) => out4.set(src4.subarray(from * blk, (from + 1) * blk), to * blk));
        return out4;
      };
      s.get('lstm_visual.weight_ih_l0', [4 * d, d]);
      s.get('lstm_visual.weight_hh_l0', [4 * d, d]);
      const bias = new Float32Array(8 * d);
      bias.set(reorder('lstm_visual.bias_ih_l0', 1), 0);
      bias.set(reorder('lstm_visual.bias_hh_l0', 1), 4 * d);
      const wi = g.weight('lstm_W', reorder('lstm_visual.weight_ih_l0', d), [1, 4 * d, d]);
      const wh = g.weight('lstm_R', reorder('lstm_visual.weight_hh_l0', d), [1, 4 * d, d]);
      const b = g.weight('lstm_B', bias, [1, 8 * d]);
      const xt = g.op('Transpose', [x], { perm: [1, 0, 2] }); // [T, b, D]
      const [y] = g.opSome('LSTM', [xt, wi, wh, b], [true], { hidden_size: d });
      const yb = g.op('Transpose', [g.op('Squeeze', [y, g.i64([1])])], { perm: [1, 0, 2] });
      out = mean(g.op('Add', [yb, x]));
      break;
    }
    case 'Transf': {
      const s = need();
      const pos = s.get('frame_position_embeddings.weight');
      if (pos.shape[0] < t) throw new WeightsError(`frame_position_embeddings has ${pos.shape[0]} rows, fewer than T=${t}`, s.file, 'frame_position_embeddings.weight');
      const x3 = g.op('Add', [x, g.weight('frame_position_embeddings', pos.data.subarray(0, t * d), [t, d])]);
      const y = clipStack(g, s, g.op('Reshape', [x3, g.i64([-1, d])]), {
        prefix: 'transformer.resblocks.',
        layers: s.countBlocks('transformer.resblocks.'),
        width: d,
        // ActionCLIP sizes the heads from the text transformer (transformer_width // 64), not from D.
        heads: cfg.textHeads,
        eps: TRANSF_EPS,
        causal: false,
        impl: o.impl,
        // The heads are ~1% of the work; they stay fp32 whatever the encoders use.
        quant: 'none',
        shapes: seqShapes(g, x3),
      });
      out = mean(g.op('Add', [g.op('Reshape', [y, g.i64([-1, t, d])]), x]));
      break;
    }
    case 'Transf_cls': {
      const s = need();
      const pos = s.get('transformer.pos_embed', [1, t + 1, d]).data;
      const cls = s.get('transformer.cls_token', [1, 1, d]).data;
      const clsRow = new Float32Array(d);
      for (let i = 0; i < d; i++) clsRow[i] = cls[i] + pos[i];
      const body = g.op('Add', [x, g.weight('pos_embed_frames', pos.subarray(d), [t, d])]);
      const b1 = g.op('Concat', [g.op('Slice', [g.op('Shape', [x]), g.i64([0]), g.i64([1])]), g.i64([1, d])], { axis: 0 });
      const x3 = g.op('Concat', [g.op('Expand', [g.weight('cls_token', clsRow, [1, 1, d]), b1]), body], { axis: 1 });
      const y = postNormStack(g, s, g.op('Reshape', [x3, g.i64([-1, d])]), {
        prefix: 'transformer.transformer_enc.layers.',
        layers: s.countBlocks('transformer.transformer_enc.layers.'),
        width: d,
        heads: TAGGREGATE_HEADS,
        eps: TORCH_EPS,
        impl: o.impl,
        quant: 'none',
        shapes: seqShapes(g, x3),
      });
      const first = g.op('Gather', [g.op('Reshape', [y, g.i64([-1, t + 1, d])]), g.i64([0], [])], { axis: 1 });
      out = layerNorm(g, first, w(g, s, 'transformer.transformer_enc.norm.weight', [d]), w(g, s, 'transformer.transformer_enc.norm.bias', [d]), TORCH_EPS);
      break;
    }
  }
  g.output(out, 'video', ['b', d]);
  return g.build({ graph: `fusion_${head}` });
}
