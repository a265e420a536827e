/**
 * Host RGB images for the data pipeline: the same `{width, height, rgb}` shape as a decoded
 * `Frame`, so frames from videos, folders and cameras all flow through one augmentation path.
 */
import sharp, { type OutputInfo } from 'sharp';
import { ConfigError } from '../errors.js';

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** Interleaved RGB bytes, `height*width*3`. */
  readonly rgb: Uint8Array;
}

/** Reads an image file (JPEG/PNG/...) as 8-bit RGB; grey and alpha images are converted. */
export async function readRgbImage(file: string): Promise<RgbImage> {
  let res: { data: Buffer; info: OutputInfo };
  try {
    res = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ConfigError(`cannot read image ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const { data, info } = res;
  const n = info.width * info.height;
  if (info.channels === 3) return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, n * 3) };
  // Defensive: expand grey (1) or drop a remaining alpha (4) channel.
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = data[i * info.channels + (info.channels === 1 ? 0 : c)];
  }
  return { width: info.width, height: info.height, rgb };
}

/** Writes RGB as PNG (lossless, so synthetic frame folders keep exact colours). */
export async function writePng(file: string, image: RgbImage): Promise<void> {
  await sharp(Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .png()
    .toFile(file);
}
