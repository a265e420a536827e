import * as tf from '@tensorflow/tfjs';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { loadModel } from '../../src/index.js';
import { readSafetensors } from '../../src/model/weights/safetensors.js';
import { makeTestViews } from '../../src/training/clip-loader.js';
import { loadTrainConfig, type TrainConfig } from '../../src/training/config.js';
import { generateSyntheticDataset, type SyntheticDataset } from '../../src/training/synthetic-dataset.js';
import { parameterPart, Trainer } from '../../src/training/trainer.js';
import { HAVE_FIXTURES, fixture } from '../support/fixtures.js';

let dir: string;
let ds: SyntheticDataset;
let n = 0;

/** A small configuration: 3 classes × 2 clips, batch 3 (2 steps per epoch), T = 4. */
function config(over: Record<string, unknown> = {}): TrainConfig {
  return loadTrainConfig(undefined, {
    weights: fixture('clip.safetensors'),
    head: 'Transf',
    data: { train: ds.trainList, val: ds.valList, labels: ds.labelsFile },
    frames: 4,
    inputSize: 32,
    batchSize: 3,
    epochs: 2,
    lr: 1e-4,
    augment: { flip: false },
    outputDir: path.join(dir, `run-${n++}`),
    eval: { every: 0 },
    ...over,
  });
}

/** Host copies of every parameter, by name. */
async function snapshot(t: Trainer): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of t.engine.params.entries()) out.set(name, (await v.data()) as Float32Array);
  return out;
}

function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>, filter: (name: string) => boolean = () => true): number {
  let d = 0;
  for (const [name, x] of a) {
    if (!filter(name)) continue;
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  }
  return d;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'trainer-'));
  ds = await generateSyntheticDataset({ outDir: path.join(dir, 'data'), classes: ['moving left', 'moving right', 'growing'], trainPerClass: 2, valPerClass: 1, width: 32, height: 32, frames: 8, seed: 3 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!HAVE_FIXTURES)('Trainer (tiny reference CLIP, wasm)', () => {
  it('groups parameters: new modules at lr × 10; frozen encoders are left out and stay unchanged', async () => {
    const seen: Record<string, string[]> = {};
    for (const freeze of ['none', 'text', 'image', 'both'] as const) {
      const t = await Trainer.create(config({ freeze }), { backend: 'wasm', checkpoints: false });
      try {
        const parts = (g: number): Set<string> => new Set(t.optimizer.groups[g].params.map((p) => parameterPart(t.engine.params.nameOf(p)!)));
        const names = t.optimizer.groups.map((g) => g.name);
        seen[freeze] = names.flatMap((_, i) => [...parts(i)]);
        const newGroup = t.optimizer.groups.find((g) => g.name === 'new')!;
        expect(newGroup.lr).toBeCloseTo(1e-3, 12);
        const before = await snapshot(t);
        const frames = new Float32Array(3 * 4 * 3 * 32 * 32).map((_, i) => Math.sin(i));
        const r = t.trainStep(frames, [0, 1, 2], [0, 5, 7]);
        expect(Number.isFinite(r.loss)).toBe(true);
        const after = await snapshot(t);
        const changed = (part: string): boolean => maxDiff(before, after, (nm) => parameterPart(nm) === part) > 0;
        expect(changed('new')).toBe(true);
        expect(changed('image')).toBe(freeze === 'none' || freeze === 'text');
        expect(changed('text')).toBe(freeze === 'none' || freeze === 'image');
        expect(changed('logit_scale')).toBe(freeze !== 'both');
      } finally {
        t.dispose();
      }
    }
    expect(seen.none.sort()).toEqual(['image', 'logit_scale', 'new', 'text']);
    expect(seen.text.sort()).toEqual(['image', 'logit_scale', 'new']);
    expect(seen.image.sort()).toEqual(['logit_scale', 'new', 'text']);
    expect(seen.both).toEqual(['new']);
  });

  it('keeps the tensor count constant across steps (text trained, and text frozen with cached prompts)', async () => {
    for (const freeze of ['none', 'text'] as const) {
      const t = await Trainer.create(config({ freeze }), { backend: 'wasm', checkpoints: false });
      try {
        const frames = new Float32Array(3 * 4 * 3 * 32 * 32).map((_, i) => Math.cos(i));
        const counts: number[] = [];
        for (let s = 0; s < 3; s++) {
          t.trainStep(frames, [0, 0, 1], [s, s + 1, s + 2]);
          counts.push(tf.memory().numTensors);
        }
        // The first step creates the optimiser's moments; after that nothing may accumulate.
        expect(counts[2]).toBe(counts[1]);
      } finally {
        t.dispose();
      }
    }
  });

  it('warms up linearly, then decays by cosine to zero at the last step', async () => {
    const t = await Trainer.create(config({ epochs: 5, warmupFraction: 0.2, freeze: 'both' }), { backend: 'wasm', checkpoints: false });
    try {
      expect(t.totalSteps).toBe(10);
      const frames = new Float32Array(3 * 4 * 3 * 32 * 32);
      const lrs: number[] = [];
      // freeze both: only the head trains, at lr × 10 (the cheapest way to walk the schedule).
      for (let s = 0; s < 10; s++) lrs.push(t.trainStep(frames, [0, 1, 2], [0, 0, 0]).lrs[0] / 10);
      expect(lrs[0]).toBeCloseTo(0.5e-4, 12);
      expect(lrs[1]).toBeCloseTo(1e-4, 12);
      expect(lrs[2]).toBeCloseTo(1e-4, 12); // cosine starts at its top
      for (let s = 3; s < 10; s++) expect(lrs[s]).toBeLessThan(lrs[s - 1]);
      expect(lrs[9]).toBeLessThan(0.05e-4);
    } finally {
      t.dispose();
    }
  });

  it('writes a checkpoint that loadModel reads back to identical outputs', async () => {
    const cfg = config({ epochs: 1 });
    const t = await Trainer.create(cfg, { backend: 'wasm' });
    try {
      await t.run();
      const files = ['clip.safetensors', 'fusion-Transf.safetensors', 'optimizer.safetensors', 'trainer-state.json', 'metrics.jsonl'];
      for (const f of files) expect((await readFile(path.join(cfg.outputDir, f))).length).toBeGreaterThan(0);
      const fusion = await readSafetensors(path.join(cfg.outputDir, 'fusion-Transf.safetensors'));
      expect(fusion.metadata).toMatchObject({ sim_header: 'Transf', T: '4' });
      expect(fusion.tensors.has('frame_position_embeddings.weight')).toBe(true);
      const metrics = (await readFile(path.join(cfg.outputDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { epoch: number; step: number });
      expect(metrics).toMatchObject([{ epoch: 1, step: 2 }]);

      const loaded = await loadModel({ weights: cfg.outputDir, engine: 'tfjs', backend: 'wasm' });
      try {
        expect(loaded.info).toMatchObject({ head: 'Transf', frames: 4, joint: false });
        const views = await Promise.all(t.valRecords.map((r) => makeTestViews(r, { segments: 4, size: 32 })));
        const px = new Float32Array(views.length * views[0][0].length);
        views.forEach((v, i) => px.set(v[0], i * v[0].length));
        const mem = t.model();
        const a = await mem.encodeVideos(px, views.length);
        const b = await loaded.encodeVideos(px, views.length);
        expect(Array.from(b)).toEqual(Array.from(a));
        const pa = await mem.classify(a, views.length, [...t.labels]);
        const pb = await loaded.classify(b, views.length, [...t.labels]);
        expect(Array.from(pb)).toEqual(Array.from(pa));
      } finally {
        loaded.dispose();
      }
    } finally {
      t.dispose();
    }
  });

  it('resumes at the right step with the same optimiser state and ends where an uninterrupted run ends', async () => {
    const straight = await Trainer.create(config(), { backend: 'wasm', checkpoints: false });
    await straight.run();
    const straightParams = await snapshot(straight);
    const straightOpt = await straight.optimizer.getState();
    straight.dispose();

    const first = config();
    const part = await Trainer.create(first, { backend: 'wasm' });
    await part.run({ untilEpoch: 1 });
    expect([part.epoch, part.step]).toEqual([1, 2]);
    const savedOpt = await part.optimizer.getState();
    const nameOf = (t: Trainer, varName: string): string => [...t.engine.params.entries()].find(([, v]) => v.name === varName)![0];
    const savedByName = new Map([...savedOpt.moments].map(([k, v]) => [nameOf(part, k), v]));
    part.dispose();

    const resumed = await Trainer.create(config({ resume: first.outputDir }), { backend: 'wasm' });
    try {
      expect([resumed.epoch, resumed.step, resumed.optimizer.step]).toEqual([1, 2, 2]);
      const restored = await resumed.optimizer.getState();
      expect(restored.moments.size).toBe(savedByName.size);
      for (const [varName, mv] of restored.moments) {
        const saved = savedByName.get(nameOf(resumed, varName))!;
        expect(Array.from(mv.m)).toEqual(Array.from(saved.m));
        expect(Array.from(mv.v)).toEqual(Array.from(saved.v));
      }
      await resumed.run();
      expect([resumed.epoch, resumed.step]).toEqual([2, 4]);
      // Per-epoch random streams and exact float32 state: the same numbers as the straight run.
      const d = maxDiff(straightParams, await snapshot(resumed));
      console.log(`resumed vs uninterrupted run: max parameter difference ${d}`);
      expect(d).toBeLessThanOrEqual(1e-6);
      expect((await resumed.optimizer.getState()).step).toBe(straightOpt.step);
      const history = JSON.parse(await readFile(path.join(resumed.config.outputDir, 'trainer-state.json'), 'utf8')) as { history: unknown[]; step: number };
      expect(history.step).toBe(4);
      expect(history.history).toHaveLength(2);
    } finally {
      resumed.dispose();
    }
  });

  it('resumes with the templates it trained with, and refuses configured ones that differ, naming both', async () => {
    const trained = ['a clip of {}', '{} happening'];
    const cfg = config({ epochs: 1, templates: trained });
    const t = await Trainer.create(cfg, { backend: 'wasm' });
    await t.saveCheckpoint();
    t.dispose();
    const differing = Trainer.create(config({ resume: cfg.outputDir, templates: ['{}'] }), { backend: 'wasm' });
    await expect(differing).rejects.toThrow(ConfigError);
    await expect(differing).rejects.toThrow('trained with the templates ["a clip of {}","{} happening"], the configuration gives ["{}"]');
    const resumed = await Trainer.create(config({ resume: cfg.outputDir }), { backend: 'wasm' });
    try {
      expect(resumed.templates).toEqual(trained);
    } finally {
      resumed.dispose();
    }
    const same = await Trainer.create(config({ resume: cfg.outputDir, templates: trained }), { backend: 'wasm' });
    same.dispose();
  });

  it('refuses to overwrite an existing run without resume', async () => {
    const cfg = config({ epochs: 1 });
    const t = await Trainer.create(cfg, { backend: 'wasm' });
    await t.saveCheckpoint();
    t.dispose();
    await expect(Trainer.create(config({ outputDir: cfg.outputDir }), { backend: 'wasm' })).rejects.toThrow(/already holds a training run/);
  });
});
