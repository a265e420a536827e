import * as tf from '@tensorflow/tfjs';
import type { ClipConfig } from '../../../model/clip-config.js';
import { layerNorm, matMul, matMulT, residualAttentionBlock } from './layers.js';
import type { ParamStore } from './params.js';

/** Visual-prompt variants that live inside the image encoder (paper §3.3). */
export interface ImageEncoderOptions {
  /** Frames per video, needed by Joint and Shift. */
  readonly frames: number;
  /** Pre-network prompt: a learned temporal embedding on every patch token, all T·N tokens attended jointly. */
  readonly joint: boolean;
  /** In-network prompt: temporal shift of 1/8 + 1/8 of the channels before every block. */
  readonly shift: boolean;
}

export const SHIFT_FOLD_DIV = 8;

/** `[n,3,S,S]` pixels to `[n, grid², 3·p·p]` patches, the same flattening as conv1's weight. */
function patchify(pixels: tf.Tensor, cfg: ClipConfig): tf.Tensor {
  const n = pixels.shape[0];
  const p = cfg.patchSize;
  const g = cfg.imageResolution / p;
  // Rank-4 transposes only (the wasm backend's fast paths); [n,3,g,p,g,p] -> [n,g,g,3,p,p].
  const a = pixels.reshape([n * 3 * g, p, g, p]).transpose([0, 2, 1, 3]); // [n·3·g, g, p, p]: (c, gy) x (gx, py, px)
  const b = a.reshape([n, 3, g * g, p * p]).transpose([0, 2, 1, 3]); // [n, g·g, 3, p·p]
  return b.reshape([n, g * g, 3 * p * p]);
}

/**
 * TSM's shift on the patch tokens (CLS untouched, as ActionCLIP's TemporalShift_VIT): channels
 * [0, fold) take the next frame's values, [fold, 2·fold) the previous frame's; ends zero-filled.
 */
export function temporalShift(x: tf.Tensor, frames: number): tf.Tensor {
  const [nt, l, w] = x.shape as [number, number, number];
  const b = nt / frames;
  const fold = Math.floor(w / SHIFT_FOLD_DIV);
  const cls = x.slice([0, 0, 0], [nt, 1, w]);
  const patches = x.slice([0, 1, 0], [nt, l - 1, w]).reshape([b, frames, l - 1, w]);
  const zero = tf.zeros([b, 1, l - 1, fold]);
  const back = tf.concat([patches.slice([0, 1, 0, 0], [b, frames - 1, l - 1, fold]), zero], 1);
  const fwd = tf.concat([zero, patches.slice([0, 0, 0, fold], [b, frames - 1, l - 1, fold])], 1);
  const rest = patches.slice([0, 0, 0, 2 * fold], [b, frames, l - 1, w - 2 * fold]);
  const shifted = tf.concat([back, fwd, rest], 3).reshape([nt, l - 1, w]);
  return tf.concat([cls, shifted], 1);
}

/**
 * CLIP's VisualTransformer as ActionCLIP modifies it. Without Joint: `[n,3,S,S] -> [n,D]`. With Joint:
 * n = b·T frames in, `[b,D]` out (one CLS over all T·N patch tokens).
 */
export function encodeImage(pixels: tf.Tensor, p: ParamStore, cfg: ClipConfig, opts: ImageEncoderOptions): tf.Tensor {
  const { visionWidth: w, patchSize: ps, imageResolution: s } = cfg;
  const n = pixels.shape[0];
  if (pixels.rank !== 4 || pixels.shape[1] !== 3 || pixels.shape[2] !== s || pixels.shape[3] !== s) {
    throw new Error(`image encoder expects [n,3,${s},${s}] pixels, got [${pixels.shape.join(',')}]`);
  }
  const conv = p.get('visual.conv1.weight', [w, 3, ps, ps]).reshape([w, 3 * ps * ps]);
  let x = matMulT(patchify(pixels, cfg).reshape([-1, 3 * ps * ps]), conv).reshape([n, -1, w]);
  const cls = tf.broadcastTo(p.get('visual.class_embedding', [w]).reshape([1, 1, w]), [n, 1, w]);
  x = tf.concat([cls, x], 1);
  x = tf.add(x, p.get('visual.positional_embedding', [x.shape[1], w]));
  if (opts.joint) {
    const t = opts.frames;
    const b = n / t;
    const tokens = (x.shape[1] as number) - 1;
    // ActionCLIP takes the first b rows' CLS; every frame's CLS is identical here (class + pos[0]).
    const clsTokens = x.slice([0, 0, 0], [b, 1, w]);
    const patches = x.slice([0, 1, 0], [n, tokens, w]).reshape([b, t, tokens, w]);
    const timed = tf.add(patches, p.get('visual.time_embedding', [t, w]).reshape([1, t, 1, w]));
    // '(b n) t m -> b (n t) m': patch-major, time-minor token order.
    x = tf.concat([clsTokens, timed.transpose([0, 2, 1, 3]).reshape([b, tokens * t, w])], 1);
  }
  x = layerNorm(x, p.get('visual.ln_pre.weight'), p.get('visual.ln_pre.bias'));
  for (let i = 0; i < cfg.visionLayers; i++) {
    if (opts.shift) x = temporalShift(x, opts.frames);
    x = residualAttentionBlock(x, p, `visual.transformer.resblocks.${i}.`, cfg.visionHeads);
  }
  const first = x.slice([0, 0, 0], [x.shape[0], 1, w]).reshape([x.shape[0], w]);
  return matMul(layerNorm(first, p.get('visual.ln_post.weight'), p.get('visual.ln_post.bias')), p.get('visual.proj', [w, cfg.embedDim]));
}
