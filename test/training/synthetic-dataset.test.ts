import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeVideo } from '../../src/sources/video-file.js';
import { framePaths, loadDatasetList, loadLabelCsv, type FrameFolderRecord } from '../../src/training/dataset.js';
import { readRgbImage, type RgbImage } from '../../src/training/image.js';
import { createRng } from '../../src/training/rng.js';
import {
  generateSyntheticDataset,
  renderSyntheticClip,
  SYNTHETIC_CLASSES,
  syntheticDatasetCli,
  type SyntheticDataset,
} from '../../src/training/synthetic-dataset.js';

/** Centroid and area of the pixels that differ from the corner (background) colour. */
function blob(img: RgbImage): { x: number; y: number; area: number } {
  const bg = [img.rgb[0], img.rgb[1], img.rgb[2]];
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const p = (y * img.width + x) * 3;
      const d = Math.abs(img.rgb[p] - bg[0]) + Math.abs(img.rgb[p + 1] - bg[1]) + Math.abs(img.rgb[p + 2] - bg[2]);
      if (d > 40) {
        sx += x;
        sy += y;
        n++;
      }
    }
  }
  return { x: sx / n, y: sy / n, area: n };
}

function checkMotion(label: string, frames: readonly RgbImage[]): void {
  const a = blob(frames[0]);
  const b = blob(frames[frames.length - 1]);
  const moved = { x: b.x - a.x, y: b.y - a.y, grow: b.area / a.area };
  switch (label) {
    case 'moving left':
      expect(moved.x, label).toBeLessThan(-5);
      break;
    case 'moving right':
      expect(moved.x, label).toBeGreaterThan(5);
      break;
    case 'moving up':
      expect(moved.y, label).toBeLessThan(-5);
      break;
    case 'moving down':
      expect(moved.y, label).toBeGreaterThan(5);
      break;
    case 'growing':
      expect(moved.grow, label).toBeGreaterThan(3);
      break;
    case 'shrinking':
      expect(moved.grow, label).toBeLessThan(1 / 3);
      break;
  }
}

describe('synthetic clips', () => {
  it('move as their class says, deterministically', () => {
    for (const cls of SYNTHETIC_CLASSES) {
      for (let seed = 0; seed < 10; seed++) {
        const clip = renderSyntheticClip(cls, createRng(seed), { width: 64, height: 64, frames: 16 });
        expect(clip).toHaveLength(16);
        checkMotion(cls, clip);
      }
    }
    const a = renderSyntheticClip('growing', createRng(3), { width: 48, height: 32, frames: 8 });
    expect(renderSyntheticClip('growing', createRng(3), { width: 48, height: 32, frames: 8 })).toEqual(a);
  });
});

describe('synthetic dataset on disk', () => {
  let dir: string;
  let ds: SyntheticDataset;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'synthetic-'));
    ds = await generateSyntheticDataset({ outDir: dir, trainPerClass: 2, valPerClass: 1, format: 'both', seed: 5 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes labels and lists in the ActionCLIP formats', async () => {
    expect(await loadLabelCsv(ds.labelsFile)).toEqual([...SYNTHETIC_CLASSES]);
    const train = await loadDatasetList(ds.trainList!, { numClasses: 6 });
    const val = await loadDatasetList(ds.valList!, { numClasses: 6 });
    expect(train).toHaveLength(12);
    expect(val).toHaveLength(6);
    expect(train.every((r) => r.kind === 'video')).toBe(true);
    const frames = await loadDatasetList(ds.trainFramesList!, { numClasses: 6 });
    expect(frames.every((r) => r.kind === 'frames' && r.numFrames === 16)).toBe(true);
    expect(ds.clips).toBe(18);
  });

  it('videos decode to 16 frames of 64×64 whose motion matches the label', async () => {
    const val = await loadDatasetList(ds.valList!);
    for (const rec of val) {
      const frames: RgbImage[] = [];
      for await (const f of decodeVideo(rec.path)) frames.push(f);
      expect(frames).toHaveLength(16);
      expect([frames[0].width, frames[0].height]).toEqual([64, 64]);
      checkMotion(SYNTHETIC_CLASSES[rec.label], frames);
    }
  });

  it('frame folders hold the same clips losslessly', async () => {
    const recs = (await loadDatasetList(ds.valFramesList!)) as FrameFolderRecord[];
    for (const rec of recs) {
      const files = framePaths(rec, [0, 15], ds.frameTemplate, 1);
      checkMotion(SYNTHETIC_CLASSES[rec.label], await Promise.all(files.map(readRgbImage)));
    }
  });

  it('the CLI function parses its flags and rejects bad ones', async () => {
    const out = await syntheticDatasetCli(['--out', path.join(dir, 'cli'), '--format', 'frames', '--train', '1', '--val', '0', '--size', '32x24', '--frames', '4', '--classes', 'growing,moving up']);
    expect(out.labels).toEqual(['growing', 'moving up']);
    const recs = await loadDatasetList(out.trainFramesList!);
    expect(recs.map((r) => r.label)).toEqual([0, 1]);
    await expect(syntheticDatasetCli(['--out', dir, '--format', 'gif'])).rejects.toThrow(/--format/);
    await expect(syntheticDatasetCli(['--train', '2'])).rejects.toThrow(/--out/);
    await expect(syntheticDatasetCli(['--out', dir, '--classes', 'dancing'])).rejects.toThrow(/unknown class "dancing"/);
  });
});

describe('synthetic clip options', () => {
  const centroidX = (img: RgbImage): number => {
    let s = 0;
    let n = 0;
    for (let i = 0; i < img.width * img.height; i++) {
      if (img.rgb[i * 3] > 127) {
        s += i % img.width;
        n++;
      }
    }
    return s / n;
  };

  it('fixed colours draw white shapes on black only', () => {
    const clip = renderSyntheticClip('moving up', createRng(3), { width: 32, height: 32, frames: 4, colors: 'fixed' });
    const values = new Set(clip.flatMap((f) => Array.from(f.rgb)));
    expect([...values].sort((a, b) => a - b)).toEqual([0, 255]);
  });

  it('travelRange and sizeRange set how far and how big the shape is', () => {
    const spec = { width: 64, height: 32, frames: 8, colors: 'fixed' as const };
    const far = renderSyntheticClip('moving right', createRng(5), { ...spec, travelRange: [0.9, 1] as const, sizeRange: [0.2, 0.2] as const });
    const near = renderSyntheticClip('moving right', createRng(5), { ...spec, travelRange: [0.1, 0.1] as const, sizeRange: [0.2, 0.2] as const });
    const moved = (c: RgbImage[]) => centroidX(c[c.length - 1]) - centroidX(c[0]);
    // Free length 64 - 2·6.4 = 51.2 px: about 46-51 px against about 5 px.
    expect(moved(far)).toBeGreaterThan(40);
    expect(moved(near)).toBeLessThan(8);
    expect(moved(near)).toBeGreaterThan(0);
  });
});
