/** The CLIP ViT's tensors, checked before any engine meets them. */
import { WeightsError } from '../../errors.js';
import { clipConfigFromWeights, type ClipConfig } from '../clip-config.js';
import { blockShapes, checkShape, countBlocks, formatShape } from './check-shapes.js';
import type { HostTensor, TensorMap } from './tensor-map.js';

function need(w: TensorMap, key: string, file: string, rank: number, what: string): HostTensor {
  const t = w.get(key);
  if (t === undefined) throw new WeightsError(`missing CLIP tensor (the model needs ${what})`, file, key);
  if (t.shape.length !== rank) throw new WeightsError(`tensor has shape ${formatShape(t.shape)} but the model needs ${what}`, file, key);
  return t;
}

/**
 * Checks that every tensor the CLIP ViT (both towers) needs exists with consistent shapes, so
 * that model construction never meets a bad tensor. Widths come from 1-D tensors (class
 * embedding, final LayerNorm) so that one malformed matrix is reported as itself.
 */
export function validateClipWeights(w: TensorMap, file: string): ClipConfig {
  if (!w.has('visual.proj') && [...w.keys()].some((k) => k.startsWith('visual.layer1.'))) {
    // clipConfigFromWeights words the ResNet case.
    clipConfigFromWeights(w, file);
  }
  const vw = need(w, 'visual.class_embedding', file, 1, '[vision_width]').shape[0];
  const tw = need(w, 'ln_final.weight', file, 1, '[text_width]').shape[0];
  const tp = need(w, 'text_projection', file, 2, `[${tw},embed_dim]`);
  const embed = tp.shape[1];
  const conv = w.get('visual.conv1.weight');
  if (conv === undefined) throw new WeightsError(`missing CLIP tensor (the model needs [${vw},3,patch,patch])`, file, 'visual.conv1.weight');
  if (conv.shape.length !== 4) throw new WeightsError(`tensor has shape ${formatShape(conv.shape)} but the model needs [${vw},3,patch,patch]`, file, 'visual.conv1.weight');
  const patch = conv.shape[3];
  const vpos = need(w, 'visual.positional_embedding', file, 2, `[grid*grid+1,${vw}]`);
  const tokens = vpos.shape[0];
  const grid = Math.round(Math.sqrt(tokens - 1));
  if (grid < 1 || grid * grid + 1 !== tokens) {
    throw new WeightsError(`positional embedding of ${tokens} tokens is not a square grid plus the class token`, file, 'visual.positional_embedding');
  }
  const ctx = need(w, 'positional_embedding', file, 2, `[context_length,${tw}]`).shape[0];
  const vocab = need(w, 'token_embedding.weight', file, 2, `[vocab_size,${tw}]`).shape[0];

  const expected: [string, number[]][] = [
    ['visual.conv1.weight', [vw, 3, patch, patch]],
    ['visual.class_embedding', [vw]],
    ['visual.positional_embedding', [tokens, vw]],
    ['visual.ln_pre.weight', [vw]],
    ['visual.ln_pre.bias', [vw]],
    ['visual.ln_post.weight', [vw]],
    ['visual.ln_post.bias', [vw]],
    ['visual.proj', [vw, embed]],
    ['token_embedding.weight', [vocab, tw]],
    ['positional_embedding', [ctx, tw]],
    ['ln_final.weight', [tw]],
    ['ln_final.bias', [tw]],
    ['text_projection', [tw, embed]],
  ];
  for (const [tower, prefix, width] of [
    ['vision', 'visual.transformer.resblocks.', vw],
    ['text', 'transformer.resblocks.', tw],
  ] as const) {
    const layers = countBlocks(w, prefix);
    if (layers === 0) throw new WeightsError(`no ${tower} transformer blocks found`, file, `${prefix}0.attn.in_proj_weight`);
    for (let i = 0; i < layers; i++) expected.push(...blockShapes(`${prefix}${i}.`, width));
  }
  for (const [key, shape] of expected) checkShape(w, key, shape, file);
  const ls = w.get('logit_scale');
  if (ls === undefined) throw new WeightsError('missing CLIP tensor (the model needs a scalar)', file, 'logit_scale');
  if (ls.data.length !== 1 || ls.dtype !== 'float32') throw new WeightsError(`tensor has shape ${formatShape(ls.shape)} but the model needs a float scalar []`, file, 'logit_scale');
  return clipConfigFromWeights(w, file);
}
