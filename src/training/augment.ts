/**
 * Clip augmentation for fine-tuning, after ActionCLIP's `get_augmentation` (utils/Augmentation.py):
 * GroupMultiScaleCrop(size, [1, .875, .75, .66]) → horizontal flip (p=0.5) → colour jitter
 * (p=0.8; brightness .4, contrast .4, saturation .2, hue .1) → grayscale (p=0.2) → /255 →
 * CLIP normalisation. Every random choice is drawn once per clip and applied to all its frames:
 * a clip must stay a plausible video (ActionCLIP re-draws the jitter per frame, which adds
 * flicker no camera produces; we do not copy that).
 *
 * Test time: the inference transform (short side 256/224·size, centre crop) via preprocess.ts, and
 * three spatial crops along the long side for multi-view testing.
 *
 * Output of every function: float32 `[T,3,size,size]` (NCHW, like `preprocessFrames`).
 */
import { CLIP_MEAN, CLIP_STD, preprocessFrames, resizeBicubicPIL, resizeBicubicPILWindow, resizedSize, roundHalfEven } from '../model/preprocess.js';
import type { RgbImage } from './image.js';
import type { Rng } from './rng.js';

export interface ColorJitterOptions {
  /** Probability that the clip is jittered at all. */
  p: number;
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

export interface TrainAugmentOptions {
  /** Model input size (square). */
  size: number;
  /** Crop side as fractions of the short side. */
  scales?: readonly number[];
  /** Largest index distance between the width and height scale (aspect distortion). */
  maxDistort?: number;
  /** Horizontal flip with p=0.5; turn off for direction-sensitive actions (e.g. "moving left"). */
  flip?: boolean;
  /** `false` disables jitter. */
  colorJitter?: ColorJitterOptions | false;
  /** Probability of converting the clip to grey. */
  grayscale?: number;
}

export const ACTIONCLIP_SCALES: readonly number[] = [1, 0.875, 0.75, 0.66];
export const ACTIONCLIP_COLOR_JITTER: ColorJitterOptions = { p: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 };
export const ACTIONCLIP_GRAYSCALE_P = 0.2;

export type JitterOp = 'brightness' | 'contrast' | 'saturation' | 'hue';

/** Everything random about one clip's augmentation, drawn once. */
export interface AugmentParams {
  crop: { x: number; y: number; width: number; height: number };
  flip: boolean;
  /** Jitter ops in application order with their factors (hue: shift in turns); empty = none. */
  jitter: ReadonlyArray<{ op: JitterOp; factor: number }>;
  grayscale: boolean;
}

/**
 * GroupMultiScaleCrop's `_sample_crop_size` with fix_crop and more_fix_crop: crop sides from the
 * scales (snapped to the input size when within 3 px), width/height scale indices at most
 * `maxDistort` apart, the offset one of 13 fixed positions (corners, centre, edges, quarters).
 */
export function sampleMultiScaleCrop(
  width: number,
  height: number,
  size: number,
  rng: Rng,
  scales: readonly number[] = ACTIONCLIP_SCALES,
  maxDistort = 1,
): { x: number; y: number; width: number; height: number } {
  const base = Math.min(width, height);
  const sizes = scales.map((s) => Math.trunc(base * s));
  const snap = (v: number): number => (Math.abs(v - size) < 3 ? size : v);
  const pairs: Array<[number, number]> = [];
  sizes.forEach((h, i) =>
    sizes.forEach((w, j) => {
      if (Math.abs(i - j) <= maxDistort) pairs.push([Math.min(snap(w), width), Math.min(snap(h), height)]);
    }),
  );
  const [cw, ch] = rng.choice(pairs);
  const ws = Math.trunc((width - cw) / 4);
  const hs = Math.trunc((height - ch) / 4);
  const offsets: Array<[number, number]> = [
    [0, 0], [4 * ws, 0], [0, 4 * hs], [4 * ws, 4 * hs], [2 * ws, 2 * hs],
    [0, 2 * hs], [4 * ws, 2 * hs], [2 * ws, 4 * hs], [2 * ws, 0],
    [ws, hs], [3 * ws, hs], [ws, 3 * hs], [3 * ws, 3 * hs],
  ];
  const [x, y] = rng.choice(offsets);
  return { x, y, width: cw, height: ch };
}

/** Draws one clip's parameters (torchvision ColorJitter: factors uniform in [1-b, 1+b], ops in random order). */
export function sampleAugmentParams(width: number, height: number, rng: Rng, options: TrainAugmentOptions): AugmentParams {
  const crop = sampleMultiScaleCrop(width, height, options.size, rng, options.scales ?? ACTIONCLIP_SCALES, options.maxDistort ?? 1);
  // Draw the coin even when flipping is off so that turning flip off changes nothing else.
  const flipCoin = rng.next() < 0.5;
  const flip = (options.flip ?? true) && flipCoin;
  const cj = options.colorJitter === undefined ? ACTIONCLIP_COLOR_JITTER : options.colorJitter;
  const jitter: Array<{ op: JitterOp; factor: number }> = [];
  const jitterCoin = rng.next();
  if (cj !== false && jitterCoin < cj.p) {
    const order = rng.shuffle<JitterOp>(['brightness', 'contrast', 'saturation', 'hue']);
    for (const op of order) {
      const amount = cj[op];
      if (amount <= 0) continue;
      const factor = op === 'hue' ? rng.uniform(-amount, amount) : rng.uniform(Math.max(0, 1 - amount), 1 + amount);
      jitter.push({ op, factor });
    }
  }
  const grayscale = rng.next() < (options.grayscale ?? ACTIONCLIP_GRAYSCALE_P);
  return { crop, flip, jitter, grayscale };
}

/** Copies the window of an RGB image. */
export function cropRgb(image: RgbImage, x: number, y: number, width: number, height: number): RgbImage {
  if (x < 0 || y < 0 || x + width > image.width || y + height > image.height || width < 1 || height < 1) {
    throw new RangeError(`crop ${width}×${height}+${x}+${y} outside ${image.width}×${image.height}`);
  }
  const out = new Uint8Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    const s = ((y + r) * image.width + x) * 3;
    out.set(image.rgb.subarray(s, s + width * 3), r * width * 3);
  }
  return { width, height, rgb: out };
}

// torchvision's rgb_to_grayscale weights.
const GR = 0.2989;
const GG = 0.587;
const GB = 0.114;

/** Applies the photometric part in place on planar float RGB in [0,1] (`n` pixels per plane). */
function applyPhotometric(r: Float32Array, g: Float32Array, b: Float32Array, params: AugmentParams): void {
  const n = r.length;
  const clamp = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
  for (const { op, factor } of params.jitter) {
    if (op === 'brightness') {
      for (let i = 0; i < n; i++) {
        r[i] = clamp(r[i] * factor);
        g[i] = clamp(g[i] * factor);
        b[i] = clamp(b[i] * factor);
      }
    } else if (op === 'contrast') {
      // Blend with the mean grey level of the frame.
      let mean = 0;
      for (let i = 0; i < n; i++) mean += GR * r[i] + GG * g[i] + GB * b[i];
      mean /= n;
      const m = (1 - factor) * mean;
      for (let i = 0; i < n; i++) {
        r[i] = clamp(factor * r[i] + m);
        g[i] = clamp(factor * g[i] + m);
        b[i] = clamp(factor * b[i] + m);
      }
    } else if (op === 'saturation') {
      for (let i = 0; i < n; i++) {
        const l = (1 - factor) * (GR * r[i] + GG * g[i] + GB * b[i]);
        r[i] = clamp(factor * r[i] + l);
        g[i] = clamp(factor * g[i] + l);
        b[i] = clamp(factor * b[i] + l);
      }
    } else {
      for (let i = 0; i < n; i++) shiftHue(r, g, b, i, factor);
    }
  }
  if (params.grayscale) {
    for (let i = 0; i < n; i++) {
      const l = GR * r[i] + GG * g[i] + GB * b[i];
      r[i] = l;
      g[i] = l;
      b[i] = l;
    }
  }
}

/** RGB → HSV, hue += shift (turns, wrapping), → RGB; as torchvision's adjust_hue. */
function shiftHue(r: Float32Array, g: Float32Array, b: Float32Array, i: number, shift: number): void {
  const R = r[i];
  const G = g[i];
  const B = b[i];
  const max = Math.max(R, G, B);
  const min = Math.min(R, G, B);
  const d = max - min;
  if (d === 0) return; // grey: hue undefined, unchanged
  let h: number;
  if (max === R) h = ((G - B) / d) % 6;
  else if (max === G) h = (B - R) / d + 2;
  else h = (R - G) / d + 4;
  h = h / 6 + shift;
  h -= Math.floor(h);
  const s = d / max;
  const v = max;
  const h6 = h * 6;
  const k = Math.floor(h6) % 6;
  const f = h6 - Math.floor(h6);
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  const [nr, ng, nb] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][k];
  r[i] = nr;
  g[i] = ng;
  b[i] = nb;
}

/** Applies drawn parameters to every frame: `[T,3,size,size]` normalised float32. */
export function applyAugmentParams(frames: readonly RgbImage[], params: AugmentParams, size: number): Float32Array {
  if (frames.length === 0) throw new RangeError('a clip needs at least one frame');
  const plane = size * size;
  const out = new Float32Array(frames.length * 3 * plane);
  const r = new Float32Array(plane);
  const g = new Float32Array(plane);
  const b = new Float32Array(plane);
  const { crop } = params;
  frames.forEach((frame, t) => {
    if (frame.width !== frames[0].width || frame.height !== frames[0].height) {
      throw new RangeError(`frame ${t} is ${frame.width}×${frame.height}, frame 0 is ${frames[0].width}×${frames[0].height}: a clip must have one size`);
    }
    const c = cropRgb(frame, crop.x, crop.y, crop.width, crop.height);
    const px = crop.width === size && crop.height === size ? c.rgb : resizeBicubicPIL(c.rgb, c.width, c.height, size, size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const sx = params.flip ? size - 1 - x : x;
        const s = (y * size + sx) * 3;
        const d = y * size + x;
        r[d] = px[s] / 255;
        g[d] = px[s + 1] / 255;
        b[d] = px[s + 2] / 255;
      }
    }
    applyPhotometric(r, g, b, params);
    const o = t * 3 * plane;
    for (let i = 0; i < plane; i++) {
      out[o + i] = (r[i] - CLIP_MEAN[0]) / CLIP_STD[0];
      out[o + plane + i] = (g[i] - CLIP_MEAN[1]) / CLIP_STD[1];
      out[o + 2 * plane + i] = (b[i] - CLIP_MEAN[2]) / CLIP_STD[2];
    }
  });
  return out;
}

/** Training transform of one clip: draws parameters from `rng` and applies them to all frames. */
export function augmentTrainClip(frames: readonly RgbImage[], rng: Rng, options: TrainAugmentOptions): Float32Array {
  if (frames.length === 0) throw new RangeError('a clip needs at least one frame');
  const params = sampleAugmentParams(frames[0].width, frames[0].height, rng, options);
  return applyAugmentParams(frames, params, options.size);
}

/** Test transform (one view): exactly the inference preprocessing. */
export function testTransformClip(frames: readonly RgbImage[], size: number): Float32Array {
  return preprocessFrames(frames, size);
}

/** Normalises a `size×size` RGB crop into `out` at `offset` (CHW), rounding as torch does in float32. */
function normaliseInto(rgb: Uint8Array, size: number, out: Float32Array, offset: number): void {
  const plane = size * size;
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(CLIP_MEAN[c]);
    const std = Math.fround(CLIP_STD[c]);
    for (let i = 0; i < plane; i++) out[offset + c * plane + i] = Math.fround(Math.fround(rgb[i * 3 + c] / 255) - mean) / std;
  }
}

/**
 * Three spatial views for multi-view testing: the short side resized to `scaleSize` (default
 * `size`, so each crop spans the whole short side), then `size×size` crops at the start, centre
 * and end of the long side (left/centre/right for landscape video). Returns three `[T,3,size,size]`.
 */
export function threeCropClip(frames: readonly RgbImage[], size: number, scaleSize = size): Float32Array[] {
  if (frames.length === 0) throw new RangeError('a clip needs at least one frame');
  if (scaleSize < size) throw new RangeError(`scaleSize ${scaleSize} is smaller than the crop ${size}`);
  const plane = 3 * size * size;
  const views = [0, 1, 2].map(() => new Float32Array(frames.length * plane));
  frames.forEach((f, t) => {
    const rs = resizedSize(f.width, f.height, scaleSize);
    const landscape = rs.width >= rs.height;
    const long = landscape ? rs.width : rs.height;
    const short = landscape ? rs.height : rs.width;
    const across = roundHalfEven((short - size) / 2);
    const along = [0, roundHalfEven((long - size) / 2), long - size];
    along.forEach((a, v) => {
      const [x0, y0] = landscape ? [a, across] : [across, a];
      const crop = resizeBicubicPILWindow(f.rgb, f.width, f.height, rs.width, rs.height, x0, y0, size, size);
      normaliseInto(crop, size, views[v], t * plane);
    });
  });
  return views;
}
