import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeMetrics, evaluate, evaluationToJson, formatEvaluationTable, parseEvalList, parseViews, type EvalRecord } from '../../src/evaluation/evaluator.js';
import { loadModel, type ActionClipModel } from '../../src/index.js';
import { frameFileName } from '../../src/training/dataset.js';
import { writePng, type RgbImage } from '../../src/training/image.js';
import { HAVE_FIXTURES, fixture, maxAbsError } from '../support/fixtures.js';

describe('evaluation lists and metrics (no model)', () => {
  it('parses single- and multi-label lists', () => {
    const single = parseEvalList('a.mp4 0\n# comment\nb.mp4 2\n', '/data/list.txt');
    expect(single.map((r) => r.labels)).toEqual([[0], [2]]);
    const multi = parseEvalList('v/a b.mp4 0,2\n\nc.mp4 1\nd.mp4 3, 1\n', '/data/list.txt', { numClasses: 4 });
    expect(multi.map((r) => [path.basename(r.path), r.labels])).toEqual([
      ['a b.mp4', [0, 2]],
      ['c.mp4', [1]],
      ['d.mp4', [3, 1]],
    ]);
    const frames = parseEvalList('frames/d 40 3,1\nframes/e 12 2\n', '/data/list.txt', { numClasses: 4 });
    expect(frames.map((r) => [r.kind, r.kind === 'frames' ? r.numFrames : 0, r.labels])).toEqual([
      ['frames', 40, [3, 1]],
      ['frames', 12, [2]],
    ]);
    expect(() => parseEvalList('a.mp4 0,7\n', 'l.txt', { numClasses: 4 })).toThrow(/label 7 is out of range/);
  });

  it('reads views as 1, 30 or CLIPSxCROPS', () => {
    expect(parseViews('1')).toEqual({ clips: 1, crops: 1 });
    expect(parseViews(30)).toEqual({ clips: 10, crops: 3 });
    expect(parseViews('4x3')).toEqual({ clips: 4, crops: 3 });
    expect(() => parseViews('4x2')).toThrow(/views/);
  });

  it('computes top-k, per-class accuracy and mAP; multi-label hits count any true class', () => {
    const rec = (labels: number[]): EvalRecord => ({ kind: 'video', path: `/v${labels.join('_')}`, label: labels[0], labels, source: 'test' });
    const scores = [
      [0.7, 0.2, 0.1],
      [0.5, 0.4, 0.1],
      [0.1, 0.3, 0.6],
      [0.2, 0.5, 0.3],
    ].map((r) => Float32Array.from(r));
    const single = computeMetrics(scores, [rec([0]), rec([1]), rec([2]), rec([1])], ['a', 'b', 'c']);
    expect(single.top1).toBeCloseTo(0.75);
    expect(single.top5).toBe(1);
    expect(single.perClass.map((p) => p.accuracy)).toEqual([1, 0.5, 1]);
    expect(single.meanClassAccuracy).toBeCloseTo(2.5 / 3);
    // Class b: positives ranked 1st (video 3, 0.5) and 2nd (video 1, 0.4) among b-scores → AP 1.
    expect(single.perClass[1].ap).toBeCloseTo(1);
    const multi = computeMetrics(scores, [rec([0]), rec([1, 0]), rec([2]), rec([2])], ['a', 'b', 'c']);
    expect(multi.multiLabel).toBe(true);
    expect(multi.top1).toBeCloseTo(0.75); // video 1's top-1 (a) is one of its classes; video 3's (b) is not
    const json = evaluationToJson(multi);
    expect(JSON.parse(JSON.stringify(json))).toMatchObject({ samples: 4, multiLabel: true });
    expect(formatEvaluationTable(single)).toMatch(/top-1 75\.00%/);
  });
});

/** A video whose T frames are identical: every temporal clip is the same clip. */
function staticClip(width: number, height: number, frames: number, uniform: boolean): RgbImage[] {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      rgb[o] = uniform ? 120 : (x * 7) % 256;
      rgb[o + 1] = uniform ? 60 : (y * 11) % 256;
      rgb[o + 2] = uniform ? 200 : ((x + y) * 5) % 256;
    }
  }
  return Array.from({ length: frames }, () => ({ width, height, rgb }));
}

describe.skipIf(!HAVE_FIXTURES)('multi-view and single-view evaluation (tiny reference model, wasm)', () => {
  let dir: string;
  let model: ActionClipModel;
  const labels = ['moving left', 'moving right', 'growing', 'shrinking'];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'evaluator-'));
    // PNG frame folders (ActionCLIP's frame lists): lossless, so the frames are exactly identical and
    // exactly uniform (H.264's 4:2:0 chroma would blur the frame border by a level or two).
    for (const [name, uniform] of [['uniform', true], ['pattern', false]] as const) {
      await mkdir(path.join(dir, name));
      const clip = staticClip(48, 32, 12, uniform);
      for (let i = 0; i < clip.length; i++) await writePng(path.join(dir, name, frameFileName('img_{:05d}.png', i + 1)), clip[i]);
    }
    model = await loadModel({ weights: fixture('clip.safetensors'), fusion: fixture('fusion-Transf.safetensors'), engine: 'tfjs', backend: 'wasm' });
  });
  afterAll(async () => {
    model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('30 views (10 clips × 3 crops) average to the single view on a video of identical uniform frames', async () => {
    const records = parseEvalList('uniform 12 0\n', path.join(dir, 'list.txt'));
    const source = { frameTemplate: 'img_{:05d}.png' };
    const one = await evaluate(model, records, { labels, source, views: { clips: 1, crops: 1 } });
    const thirty = await evaluate(model, records, { labels, source, views: { clips: 10, crops: 3 }, batchSize: 8 });
    const err = maxAbsError(thirty.scores[0], one.scores[0]);
    console.log(`uniform static video: single view ${Array.from(one.scores[0], (v) => v.toFixed(4)).join(' ')}; 30-view max difference ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
    expect(thirty.views).toEqual({ clips: 10, crops: 3 });
  });

  it('10 temporal clips equal one clip on a static (non-uniform) video', async () => {
    const records = parseEvalList('pattern 12 3\n', path.join(dir, 'list.txt'));
    const source = { frameTemplate: 'img_{:05d}.png' };
    const one = await evaluate(model, records, { labels, source });
    const ten = await evaluate(model, records, { labels, source, views: { clips: 10, crops: 1 } });
    // Every temporal clip of a static video is the same clip.
    const err = maxAbsError(ten.scores[0], one.scores[0]);
    console.log(`static patterned video: 10-clip vs 1-clip max difference ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
    expect(one.scores[0].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
});
