import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preprocessFrame } from '../../src/model/preprocess.js';
import { epochBatches, FrameCache, loadClipFrames, makeTestViews, makeTrainBatch } from '../../src/training/clip-loader.js';
import { loadDatasetList, type DatasetRecord } from '../../src/training/dataset.js';
import { createRng } from '../../src/training/rng.js';
import { generateSyntheticDataset, type SyntheticDataset } from '../../src/training/synthetic-dataset.js';

let dir: string;
let ds: SyntheticDataset;
let videos: DatasetRecord[];
let folders: DatasetRecord[];
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'clip-loader-'));
  ds = await generateSyntheticDataset({ outDir: dir, trainPerClass: 1, valPerClass: 0, format: 'both', seed: 2, width: 48, height: 32, frames: 12 });
  videos = await loadDatasetList(ds.trainList!);
  folders = await loadDatasetList(ds.trainFramesList!);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('clip loading', () => {
  it('reads the sampled frames of folders and videos alike', async () => {
    const a = await loadClipFrames(folders[0], 4, 'test', { frameTemplate: ds.frameTemplate });
    const b = await loadClipFrames(videos[0], 4, 'test');
    expect(a).toHaveLength(4);
    expect(b).toHaveLength(4);
    expect([b[0].width, b[0].height]).toEqual([48, 32]);
    // Same clip, once lossless and once through H.264: close, not equal.
    let diff = 0;
    for (let i = 0; i < a[2].rgb.length; i++) diff += Math.abs(a[2].rgb[i] - b[2].rgb[i]);
    expect(diff / a[2].rgb.length).toBeLessThan(8);
  });

  it('makes deterministic training batches of [B*T,3,S,S] with labels', async () => {
    const cache = new FrameCache();
    const opts = { segments: 4, cache, augment: { size: 16, flip: false } };
    const b1 = await makeTrainBatch(videos.slice(0, 3), createRng(9), opts);
    const b2 = await makeTrainBatch(videos.slice(0, 3), createRng(9), opts);
    expect(b1.frames.length).toBe(3 * 4 * 3 * 16 * 16);
    expect(Array.from(b1.labels)).toEqual(videos.slice(0, 3).map((r) => r.label));
    expect(b1.frames).toEqual(b2.frames);
    expect(cache.size).toBe(3 * 12 * 48 * 32 * 3);
    const folderBatch = await makeTrainBatch(folders.slice(0, 2), createRng(9), { ...opts, frameTemplate: ds.frameTemplate });
    expect(folderBatch.frames.length).toBe(2 * 4 * 3 * 16 * 16);
  });

  it('makes clips × crops test views; one view is the inference preprocessing', async () => {
    const views = await makeTestViews(folders[0], { segments: 4, size: 16, clips: 2, crops: 3, frameTemplate: ds.frameTemplate });
    expect(views).toHaveLength(6);
    for (const v of views) expect(v.length).toBe(4 * 3 * 16 * 16);
    const [single] = await makeTestViews(folders[0], { segments: 4, size: 16, frameTemplate: ds.frameTemplate });
    const frames = await loadClipFrames(folders[0], 4, 'test', { frameTemplate: ds.frameTemplate });
    expect(single.subarray(0, 3 * 16 * 16)).toEqual(preprocessFrame(frames[0].rgb, 48, 32, 16));
  });

  it('cuts seeded epochs into batches, dropping a short last one', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    const e = epochBatches(items, 4, createRng(1));
    expect(e.map((b) => b.length)).toEqual([4, 4]);
    expect(epochBatches(items, 4, createRng(1), false).map((b) => b.length)).toEqual([4, 4, 2]);
    expect(epochBatches(items, 20, createRng(1)).map((b) => b.length)).toEqual([10]);
    expect(epochBatches(items, 4, createRng(1))).toEqual(e);
  });
});
