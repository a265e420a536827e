/** ONNX graphs of CLIP's two encoders, built from OpenAI-named weights. */
import type { ClipConfig } from '../../model/clip-config.js';
import { GraphBuilder, type FloatType } from './graph.js';
import { type BlockImpl, type Quantization, clipStack, layerNorm, linear, seqShapes, w } from './layers.js';
import type { WeightSource } from './weight-source.js';

export interface GraphOptions {
  impl: BlockImpl;
  floatType: FloatType;
  /** Applies to the encoders' transformer blocks; the patch embedding, projections and heads stay fp32. */
  quant: Quantization;
}

/** CLIP LayerNorm (nn.LayerNorm default). */
const CLIP_EPS = 1e-5;

/**
 * VisionTransformer.forward: `pixels [n,3,S,S]` to `embedding [n,D]`. The stride-P patch conv is a
 * reshape/transpose into `[n·G², 3·P²]` rows and one Gemm (no im2col buffer).
 */
export function buildImageGraph(src: WeightSource, cfg: ClipConfig, o: GraphOptions): Uint8Array {
  const g = new GraphBuilder('clip_image', o.floatType);
  const { imageResolution: s, patchSize: p, visionWidth: d, embedDim: e } = cfg;
  const grid = s / p;
  const tokens = grid * grid + 1;
  const pixels = g.input('pixels', ['n', 3, s, s]);
  const rows = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [pixels, g.i64([-1, 3, grid, p, grid, p])])], { perm: [0, 2, 4, 1, 3, 5] }), g.i64([-1, 3 * p * p])]);
  const conv = src.get('visual.conv1.weight', [d, 3, p, p]).data;
  const patches = linear(g, rows, g.weight('visual.conv1.weight', conv, [d, 3 * p * p]));

  // x = cat(cls, patches) + pos; the adds are folded host-side (the same single fp32 rounding per element).
  const pos = src.get('visual.positional_embedding', [tokens, d]).data;
  const cls = src.get('visual.class_embedding', [d]).data;
  const clsRow = new Float32Array(d);
  for (let i = 0; i < d; i++) clsRow[i] = cls[i] + pos[i];
  const patches3 = g.op('Add', [g.op('Reshape', [patches, g.i64([-1, grid * grid, d])]), g.weight('visual.positional_embedding.patches', pos.subarray(d), [grid * grid, d])]);
  const n1 = g.op('Concat', [g.op('Slice', [g.op('Shape', [pixels]), g.i64([0]), g.i64([1])]), g.i64([1, d])], { axis: 0 });
  const clsTok = g.op('Expand', [g.weight('visual.class_token', clsRow, [1, 1, d]), n1]);
  const x3 = g.op('Concat', [clsTok, patches3], { axis: 1 });
  const shapes = seqShapes(g, x3);
  const x = layerNorm(g, g.op('Reshape', [x3, g.i64([-1, d])]), w(g, src, 'visual.ln_pre.weight', [d]), w(g, src, 'visual.ln_pre.bias', [d]), CLIP_EPS);

  const postG = w(g, src, 'visual.ln_post.weight', [d]);
  const postB = w(g, src, 'visual.ln_post.bias', [d]);
  // Only the CLS row leaves the last block; fused, ln_post rides on its final SkipLayerNormalization.
  const fused = o.impl === 'fused';
  const y = clipStack(g, src, x, {
    prefix: 'visual.transformer.resblocks.',
    layers: cfg.visionLayers,
    width: d,
    heads: cfg.visionHeads,
    eps: CLIP_EPS,
    causal: false,
    impl: o.impl,
    quant: o.quant,
    shapes,
    finalLn: fused ? { gamma: postG, beta: postB, eps: CLIP_EPS } : undefined,
    selectRows: (rows) => g.op('Gather', [g.op('Reshape', [rows, g.i64([-1, tokens, d])]), g.i64([0], [])], { axis: 1 }),
  });
  const clsOut = fused ? y : layerNorm(g, y, postG, postB, CLIP_EPS);
  const out = g.op('MatMul', [clsOut, w(g, src, 'visual.proj', [d, e])]);
  g.output(out, 'embedding', ['n', e]);
  return g.build({ graph: 'clip_image' });
}

/**
 * CLIP.encode_text: `tokens [n,77] int32` to `embedding [n,D]`. The sequence is cut inside the graph
 * to the longest prompt (max EOT position + 1): with the causal mask no token sees later ones, so
 * the EOT features are exactly those of the full 77-token pass, for a fraction of the work.
 */
export function buildTextGraph(src: WeightSource, cfg: ClipConfig, o: GraphOptions): Uint8Array {
  const g = new GraphBuilder('clip_text', o.floatType);
  const { contextLength: ctx, textWidth: d, embedDim: e, vocabSize: vocab } = cfg;
  const tokens = g.input('tokens', ['n', ctx], 'int32');
  const eot = g.op('ArgMax', [tokens], { axis: 1, keepdims: 0 }); // int64 [n]
  const len = g.op('Add', [g.op('ReduceMax', [eot], { keepdims: 1 }), g.i64([1])]); // [1]
  const tok = g.op('Slice', [tokens, g.i64([0]), len, g.i64([1])]);
  const pos = g.op('Slice', [w(g, src, 'positional_embedding', [ctx, d]), g.i64([0]), len, g.i64([0])]);
  const x3 = g.op('Add', [g.op('Gather', [w(g, src, 'token_embedding.weight', [vocab, d]), tok], { axis: 0 }), pos]);
  const shapes = seqShapes(g, x3);
  const lnG = w(g, src, 'ln_final.weight', [d]);
  const lnB = w(g, src, 'ln_final.bias', [d]);
  const fused = o.impl === 'fused';
  const eotIdx = g.op('Unsqueeze', [eot, g.i64([1])]);
  const y = clipStack(g, src, g.op('Reshape', [x3, g.i64([-1, d])]), {
    prefix: 'transformer.resblocks.',
    layers: cfg.textLayers,
    width: d,
    heads: cfg.textHeads,
    eps: CLIP_EPS,
    causal: true,
    impl: o.impl,
    quant: o.quant,
    shapes,
    finalLn: fused ? { gamma: lnG, beta: lnB, eps: CLIP_EPS } : undefined,
    // x[arange(n), tokens.argmax(-1)]: only the EOT rows leave the last block.
    selectRows: (rows) => g.op('GatherND', [g.op('Reshape', [rows, shapes.shape(g, [d])]), eotIdx], { batch_dims: 1 }),
  });
  const sel = fused ? y : layerNorm(g, y, lnG, lnB, CLIP_EPS);
  const out = g.op('MatMul', [sel, w(g, src, 'text_projection', [d, e])]);
  g.output(out, 'embedding', ['n', e]);
  return g.build({ graph: 'clip_text' });
}
