/**
 * ActionCLIP test-time preprocessing, bit-compatible with the reference pipeline:
 * torchvision Resize(short side 256, PIL BICUBIC) → CenterCrop(224) → /255 → Normalize(CLIP mean/std).
 *
 * The resize reproduces Pillow's ImagingResample (src/libImaging/Resample.c) for 8-bit RGB:
 * separable a=-0.5 cubic convolution whose support widens by the shrink factor (antialiasing),
 * coefficients normalised to sum 1 and then quantised to 22-bit fixed point, horizontal pass
 * first into an 8-bit image (rounded and clamped), then the vertical pass. Matching PIL exactly
 * matters because the model was trained/evaluated on PIL output.
 */

export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
export const DEFAULT_INPUT_SIZE = 224;
/** ActionCLIP scales the short side to 256 for a 224 crop, i.e. by 256/224. */
export const SCALE_RATIO = 256 / 224;

// PIL: 32 bits minus 8 for the value minus 2 for overshoot of the cubic's negative lobes.
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** Python's round(): half to even (torchvision's CenterCrop uses it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coeffs {
  ksize: number;
  /** [min, count] per output sample. */
  bounds: Int32Array;
  /** Fixed-point coefficients, ksize per output sample. */
  kk: Int32Array;
}

/** PIL's precompute_coeffs + normalize_coeffs_8bpc for the box [0, inSize]. */
function precomputeCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const v = bicubic((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      kk[base + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

/** PIL's clip8: arithmetic shift of the accumulator, clamped to 0..255. */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Rows of interleaved RGB `width` pixels wide; `x0` is the window's first column, `row0` the source row of the first row. */
interface RowView {
  readonly data: Uint8Array;
  readonly width: number;
  readonly x0: number;
  readonly row0: number;
}

/** PIL's horizontal pass over source rows [yFirst, yFirst + rows), output columns [x0, x0 + cw). */
function resampleRows(rgb: Uint8Array, w: number, c: Coeffs, x0: number, cw: number, yFirst: number, rows: number): RowView {
  const tmp = new Uint8Array(rows * cw * 3);
  const { ksize, bounds, kk } = c;
  for (let r = 0; r < rows; r++) {
    const inRow = (r + yFirst) * w * 3;
    let o = r * cw * 3;
    for (let xx = x0; xx < x0 + cw; xx++) {
      const xmin = bounds[xx * 2];
      const xmax = bounds[xx * 2 + 1];
      const kb = xx * ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      let p = inRow + xmin * 3;
      for (let x = 0; x < xmax; x++, p += 3) {
        const k = kk[kb + x];
        s0 += rgb[p] * k;
        s1 += rgb[p + 1] * k;
        s2 += rgb[p + 2] * k;
      }
      tmp[o++] = clip8(s0);
      tmp[o++] = clip8(s1);
      tmp[o++] = clip8(s2);
    }
  }
  return { data: tmp, width: cw, x0: 0, row0: yFirst };
}

/** PIL's vertical pass: output rows [y0, y0 + ch), cw columns of `src` from its `x0`. */
function resampleColumns(src: RowView, c: Coeffs, y0: number, cw: number, ch: number): Uint8Array {
  const out = new Uint8Array(cw * ch * 3);
  const { ksize, bounds, kk } = c;
  const stride = src.width * 3;
  for (let yy = y0; yy < y0 + ch; yy++) {
    const ymin = bounds[yy * 2] - src.row0;
    const ymax = bounds[yy * 2 + 1];
    const kb = yy * ksize;
    let o = (yy - y0) * cw * 3;
    for (let xx = 0; xx < cw; xx++) {
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      let p = ymin * stride + (src.x0 + xx) * 3;
      for (let y = 0; y < ymax; y++, p += stride) {
        const k = kk[kb + y];
        s0 += src.data[p] * k;
        s1 += src.data[p + 1] * k;
        s2 += src.data[p + 2] * k;
      }
      out[o++] = clip8(s0);
      out[o++] = clip8(s1);
      out[o++] = clip8(s2);
    }
  }
  return out;
}

/** No vertical resampling: the window's rows copied out of `src`. */
function copyWindow(src: RowView, y0: number, cw: number, ch: number): Uint8Array {
  const out = new Uint8Array(cw * ch * 3);
  for (let yy = 0; yy < ch; yy++) {
    const start = (yy + y0 - src.row0) * src.width * 3 + src.x0 * 3;
    out.set(src.data.subarray(start, start + cw * 3), yy * cw * 3);
  }
  return out;
}

/**
 * Resizes interleaved RGB to outW×outH exactly as PIL's `Image.resize(BICUBIC)` and returns only
 * the window [x0, x0+cw) × [y0, y0+ch) of the result. Each output pixel depends only on its own
 * coefficients, so computing just the crop is identical to resizing and then cropping, and cheaper.
 */
export function resizeBicubicPILWindow(
  rgb: Uint8Array,
  w: number,
  h: number,
  outW: number,
  outH: number,
  x0: number,
  y0: number,
  cw: number,
  ch: number,
): Uint8Array {
  if (rgb.length !== w * h * 3) throw new RangeError(`rgb has ${rgb.length} bytes, expected ${w}×${h}×3 = ${w * h * 3}`);
  if (!(outW > 0 && outH > 0 && Number.isInteger(outW) && Number.isInteger(outH))) throw new RangeError(`bad output size ${outW}×${outH}`);
  if (x0 < 0 || y0 < 0 || x0 + cw > outW || y0 + ch > outH) throw new RangeError(`window ${cw}×${ch}+${x0}+${y0} outside ${outW}×${outH}`);
  const vert = outH !== h ? precomputeCoeffs(h, outH) : null;
  // The source rows the vertical pass reads (without one: the window's own rows).
  let yFirst = y0;
  let yLast = y0 + ch;
  if (vert !== null) {
    yFirst = vert.bounds[y0 * 2];
    yLast = 0;
    for (let yy = y0; yy < y0 + ch; yy++) yLast = Math.max(yLast, vert.bounds[yy * 2] + vert.bounds[yy * 2 + 1]);
  }
  // Horizontal pass first, as PIL does, over just those rows and the window's columns.
  const src: RowView = outW !== w ? resampleRows(rgb, w, precomputeCoeffs(w, outW), x0, cw, yFirst, yLast - yFirst) : { data: rgb, width: w, x0, row0: 0 };
  return vert !== null ? resampleColumns(src, vert, y0, cw, ch) : copyWindow(src, y0, cw, ch);
}

/** PIL-exact bicubic resize of interleaved RGB (`[h,w,3]` bytes) to `[outH,outW,3]`. */
export function resizeBicubicPIL(rgb: Uint8Array, w: number, h: number, outW: number, outH: number): Uint8Array {
  return resizeBicubicPILWindow(rgb, w, h, outW, outH, 0, 0, outW, outH);
}

/** torchvision Resize(int) on a PIL image: short side → `shortTarget`, long side `int(long * target / short)`. */
export function resizedSize(width: number, height: number, shortTarget: number): { width: number; height: number } {
  if (width <= height) return { width: shortTarget, height: Math.trunc((shortTarget * height) / width) };
  return { width: Math.trunc((shortTarget * width) / height), height: shortTarget };
}

/**
 * One RGB frame (`[height,width,3]` bytes) → normalised CHW float32 `[3,size,size]`, as
 * ActionCLIP's test transform computes it.
 */
export function preprocessFrame(rgb: Uint8Array, width: number, height: number, size = DEFAULT_INPUT_SIZE): Float32Array {
  const out = new Float32Array(3 * size * size);
  preprocessInto(rgb, width, height, size, out, 0);
  return out;
}

/** Batches frames into one `[n,3,size,size]` float32 array. */
export function preprocessFrames(
  frames: ReadonlyArray<{ rgb: Uint8Array; width: number; height: number }>,
  size = DEFAULT_INPUT_SIZE,
): Float32Array {
  const plane = 3 * size * size;
  const out = new Float32Array(frames.length * plane);
  frames.forEach((f, i) => preprocessInto(f.rgb, f.width, f.height, size, out, i * plane));
  return out;
}

// Per-channel lookup of the normalised value of each byte, computed in float32 the way
// torch does it: (fround(v/255) - mean) / std, each step rounded to float32.
const LUT: Float32Array[] = [0, 1, 2].map((c) => {
  const mean = Math.fround(CLIP_MEAN[c]);
  const std = Math.fround(CLIP_STD[c]);
  const t = new Float32Array(256);
  for (let v = 0; v < 256; v++) t[v] = Math.fround(Math.fround(Math.fround(v / 255) - mean) / std);
  return t;
});

function preprocessInto(rgb: Uint8Array, width: number, height: number, size: number, out: Float32Array, offset: number): void {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new RangeError(`bad frame size ${width}×${height}`);
  if (!(Number.isInteger(size) && size > 0)) throw new RangeError(`bad input size ${size}`);
  const shortTarget = roundHalfEven(size * SCALE_RATIO);
  const r = resizedSize(width, height, shortTarget);
  // torchvision CenterCrop: Python round of the half margin.
  const top = roundHalfEven((r.height - size) / 2);
  const left = roundHalfEven((r.width - size) / 2);
  const crop = resizeBicubicPILWindow(rgb, width, height, r.width, r.height, left, top, size, size);
  const plane = size * size;
  const l0 = LUT[0];
  const l1 = LUT[1];
  const l2 = LUT[2];
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    out[offset + i] = l0[crop[p]];
    out[offset + plane + i] = l1[crop[p + 1]];
    out[offset + 2 * plane + i] = l2[crop[p + 2]];
  }
}
