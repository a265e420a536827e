import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEvalConfig, loadTrainConfig, trainableParts } from '../../src/training/config.js';
import { REPO_ROOT } from '../support/fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'train-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('train configuration', () => {
  it('reads the example, resolving paths against the YAML folder', () => {
    const file = path.join(REPO_ROOT, 'config', 'train-synthetic.yaml');
    const c = loadTrainConfig(file);
    expect(c.weights).toBe(path.resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'actionclip-reference', 'clip.safetensors'));
    expect(c.data.train).toBe(path.join(REPO_ROOT, 'data', 'synthetic', 'train.txt'));
    expect(c.data.labels).toBe(path.join(REPO_ROOT, 'data', 'synthetic', 'labels.csv'));
    expect(c.outputDir).toBe(path.join(REPO_ROOT, 'runs', 'synthetic'));
    expect(c.head).toBe('LSTM');
    expect(c.templates).toEqual(['{}']);
    expect(c.eps).toBe(1e-8);
    expect(c.augment.flip).toBe(false);
    expect(c.eval.views).toEqual({ clips: 1, crops: 1 });
  });

  it('fills ActionCLIP defaults and keeps preset names as names', () => {
    const c = loadTrainConfig(undefined, { weights: '/w.safetensors', outputDir: '/out', data: { train: '/t.txt', labels: 'kinetics400' }, eval: { every: 0 } });
    expect(c).toMatchObject({
      head: 'Transf',
      frames: 8,
      lr: 5e-6,
      newModuleRatio: 10,
      weightDecay: 0.2,
      betas: [0.9, 0.98],
      eps: 1e-6,
      warmupFraction: 0.1,
      freeze: 'none',
      augment: { flip: true, multiScaleCrop: true, colorJitter: true, grayscale: 0.2 },
      data: { labels: 'kinetics400', format: 'auto', frameTemplate: 'img_{:05d}.jpg', indexBias: 1 },
    });
  });

  it('merges flags over the file and names bad keys', async () => {
    const file = path.join(dir, 'c.yaml');
    await writeFile(file, 'weights: w.safetensors\nhead: conv1d\noutputDir: out\ndata: { train: t.txt, val: v.txt, labels: l.csv }\nlr: 1.0e-5\n');
    const c = loadTrainConfig(file, { lr: 2e-5, freeze: 'text' });
    expect(c.lr).toBe(2e-5);
    expect(c.head).toBe('Conv_1D');
    expect(c.weights).toBe(path.join(dir, 'w.safetensors'));
    expect(trainableParts(c.freeze)).toEqual({ image: true, text: false, head: true });
    expect(() => loadTrainConfig(file, { head: 'GRU' })).toThrow(/head: unknown head "GRU"/);
    expect(() => loadTrainConfig(file, { freeze: 'all' })).toThrow(/freeze/);
    expect(() => loadTrainConfig(file, { batchsize: 4 })).toThrow(/batchsize/);
    expect(() => loadTrainConfig(file, { frames: 0 })).toThrow(/frames/);
    expect(() => loadTrainConfig(file, { data: { fewShot: { k: 0 } } })).toThrow(/data\.fewShot\.k/);
    expect(() => loadTrainConfig(file, { head: 'meanP', freeze: 'both' })).toThrow(/nothing to train/);
    expect(() => loadTrainConfig(undefined, { weights: '/w', outputDir: '/o', data: { train: '/t', labels: 'x' } })).toThrow(/data\.val/);
    expect(() => loadTrainConfig(path.join(dir, 'missing.yaml'))).toThrow(/cannot read .*missing\.yaml/);
  });
});

describe('eval configuration', () => {
  it('accepts multi-view settings', () => {
    const c = loadEvalConfig(undefined, { weights: '/w', data: { list: '/v.txt', labels: 'ucf101' }, views: { clips: 10, crops: 3 } });
    expect(c.views).toEqual({ clips: 10, crops: 3 });
    expect(c.frames).toBe(8);
    expect(() => loadEvalConfig(undefined, { weights: '/w', data: { list: '/v.txt', labels: 'ucf101' }, views: { crops: 2 } })).toThrow(/views\.crops/);
  });
});
