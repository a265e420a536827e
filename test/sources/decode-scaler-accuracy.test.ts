import { execFile } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DecodeTuning } from '../../config/schema.js';
import { preprocessFrame } from '../../src/model/preprocess.js';
import { readSafetensors } from '../../src/model/weights/safetensors.js';
import { scaleFilter } from '../../src/sources/ffmpeg-camera.js';
import { resolveFfmpeg } from '../../src/sources/ffmpeg-path.js';
import { fixture, HAVE_FIXTURES, maxAbsError } from '../support/fixtures.js';

/** One RGB picture through ffmpeg's scale step as a camera's frames go, back as RGB bytes. */
function scaleWithFfmpeg(rgb: Uint8Array, w: number, h: number, width: number, height: number, tuning: Partial<DecodeTuning>): Promise<Uint8Array> {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`, '-i', 'pipe:0', '-vf', scaleFilter(width, height, tuning), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  return new Promise((resolve, reject) => {
    const child = execFile(resolveFfmpeg().path, args, { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout) => (err ? reject(err) : resolve(new Uint8Array(stdout))));
    child.stdin!.end(rgb);
  });
}

const meanAbs = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

/**
 * What scaling inside ffmpeg costs in accuracy, against the reference's PIL-exact bicubic resize
 * and centre crop, on the fixture's three pictures (4:3, 4:3 and a 3:4 portrait). Errors are in
 * normalised units (one byte step is about 0.015). Stretching to the old default 320×240 distorts
 * the portrait; cropping to 256×256 in ffmpeg, then Node's identity resize, stays close with any
 * scaler.
 */
describe.skipIf(!HAVE_FIXTURES)('ffmpeg scaling against the reference preprocessing', () => {
  let tensors: Awaited<ReturnType<typeof readSafetensors>>['tensors'];
  beforeAll(async () => {
    tensors = (await readSafetensors(fixture('preprocess.safetensors'))).tensors;
  });

  const settings: Array<[string, number, number, Partial<DecodeTuning>, number]> = [
    // [name, width, height, tuning, bound on the mean error over the three pictures]
    ['crop 256 bicubic', 256, 256, { fit: 'crop', scaler: 'bicubic' }, 0.01],
    ['crop 256 bilinear', 256, 256, { fit: 'crop', scaler: 'bilinear' }, 0.02],
    ['crop 256 fast_bilinear', 256, 256, { fit: 'crop', scaler: 'fast_bilinear' }, 0.08],
    ['crop 256 area', 256, 256, { fit: 'crop', scaler: 'area' }, 0.02],
    ['stretch 320x240 bicubic (the old default)', 320, 240, { fit: 'stretch', scaler: 'bicubic' }, 0.3],
  ];

  it.each(settings)('%s stays within its stated error of the reference', async (name, width, height, tuning, bound) => {
    const errors = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const src = tensors.get(`rgb.${i}`)!;
        const [h, w] = src.shape;
        const scaled = await scaleWithFfmpeg(Uint8Array.from(src.data as Float32Array), w, h, width, height, tuning);
        const got = preprocessFrame(scaled, width, height);
        const exp = tensors.get(`expected.${i}`)!.data as Float32Array;
        return { mean: meanAbs(got, exp), max: maxAbsError(got, exp) };
      }),
    );
    const mean = errors.reduce((s, e) => s + e.mean, 0) / errors.length;
    console.log(`[scaler] ${name}: mean abs err ${mean.toFixed(4)} (per picture ${errors.map((e) => e.mean.toFixed(4)).join(', ')}; max ${Math.max(...errors.map((e) => e.max)).toFixed(3)})`);
    expect(mean).toBeLessThan(bound);
  });

  it('stretching to 320×240 distorts a portrait picture far more than cropping', async () => {
    const src = tensors.get('rgb.2')!;
    const [h, w] = src.shape;
    const rgb = Uint8Array.from(src.data as Float32Array);
    const exp = tensors.get('expected.2')!.data as Float32Array;
    const stretched = preprocessFrame(await scaleWithFfmpeg(rgb, w, h, 320, 240, { fit: 'stretch', scaler: 'bicubic' }), 320, 240);
    const cropped = preprocessFrame(await scaleWithFfmpeg(rgb, w, h, 256, 256, { fit: 'crop', scaler: 'bicubic' }), 256, 256);
    const [errStretched, errCropped] = [meanAbs(stretched, exp), meanAbs(cropped, exp)];
    console.log(`[scaler] portrait: stretch 320x240 ${errStretched.toFixed(4)}, crop 256 ${errCropped.toFixed(4)}`);
    expect(errStretched).toBeGreaterThan(3 * errCropped);
  });
});
