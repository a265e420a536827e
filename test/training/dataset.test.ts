import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import {
  classCounts,
  fewShotSubset,
  frameFileName,
  framePaths,
  loadDatasetList,
  loadLabelCsv,
  parseDatasetList,
  parseLabelCsv,
  type FrameFolderRecord,
} from '../../src/training/dataset.js';
import { readRgbImage, writePng } from '../../src/training/image.js';
import { HAVE_LABELS, LABELS_DIR } from '../support/fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dataset-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('list files', () => {
  it('parses the TSN frame-folder format, resolving paths against the list folder', () => {
    const recs = parseDatasetList('a/vid1 30 0\n\n# comment\nb/vid 2 12 4\n', '/data/train.txt');
    expect(recs).toEqual([
      { kind: 'frames', path: '/data/a/vid1', numFrames: 30, label: 0, source: '/data/train.txt:1' },
      { kind: 'frames', path: '/data/b/vid 2', numFrames: 12, label: 4, source: '/data/train.txt:4' },
    ]);
  });
  it('parses the video format, with a root and spaces in names', () => {
    const recs = parseDatasetList('clips/x.mp4 3\nmy clip.mp4 1\n', 'val.txt', { root: '/videos', format: 'video' });
    expect(recs.map((r) => [r.kind, r.path, r.label])).toEqual([
      ['video', '/videos/clips/x.mp4', 3],
      ['video', '/videos/my clip.mp4', 1],
    ]);
  });
  it('names file:line in errors', () => {
    expect(() => parseDatasetList('a 10 0\nb ten 1\n', 'l.txt', { format: 'frames' })).toThrow(/l\.txt:2: num_frames "ten"/);
    expect(() => parseDatasetList('a.mp4 0\nb.mp4 x\n', 'l.txt')).toThrow(/l\.txt:2: label "x" is not an integer/);
    expect(() => parseDatasetList('a.mp4 0\nb.mp4 7\n', 'l.txt', { numClasses: 5 })).toThrow(/l\.txt:2: label 7 is out of range.*5 classes/);
    expect(() => parseDatasetList('a 0 1\n', 'l.txt', { format: 'frames' })).toThrow(/l\.txt:1: num_frames must be at least 1/);
    expect(() => parseDatasetList('onlypath\n', 'l.txt', { format: 'video' })).toThrow(/l\.txt:1: expected "video_path label"/);
    expect(() => parseDatasetList('\n# nothing\n', 'l.txt')).toThrow(ConfigError);
  });
  it('reads list files from disk and reports a missing one clearly', async () => {
    const f = path.join(dir, 'train.txt');
    await writeFile(f, 'v/a.mp4 0\nv/b.mp4 1\n');
    const recs = await loadDatasetList(f);
    expect(recs[1].path).toBe(path.join(dir, 'v/b.mp4'));
    await expect(loadDatasetList(path.join(dir, 'nope.txt'))).rejects.toThrow(/cannot read dataset list .*nope\.txt: ENOENT/);
  });
});

describe('label CSV', () => {
  it('reads id,name with a header, quoted names, and checks ids', () => {
    expect(parseLabelCsv('id,name\n0,run\n1,"jump, high"\n2,sit\n', 'l.csv')).toEqual(['run', 'jump, high', 'sit']);
    expect(parseLabelCsv('1,b\n0,a\n', 'l.csv')).toEqual(['a', 'b']);
    expect(() => parseLabelCsv('id,name\n0,a\n0,b\n', 'l.csv')).toThrow(/l\.csv:3: duplicate id 0/);
    expect(() => parseLabelCsv('id,name\n0,a\n2,b\n', 'l.csv')).toThrow(/id 1 is missing/);
    expect(() => parseLabelCsv('id,name\n0,a\n1,a\n', 'l.csv')).toThrow(/l\.csv:3: duplicate label name "a"/);
    expect(() => parseLabelCsv('id,name\nzero,a\n', 'l.csv')).toThrow(/l\.csv:2: id "zero"/);
  });
  it.skipIf(!HAVE_LABELS)('reads the shared Kinetics-400 labels', async () => {
    const k400 = await loadLabelCsv(path.join(LABELS_DIR, 'kinetics_400_labels.csv'));
    expect(k400).toHaveLength(400);
    expect(k400[0]).toBe('abseiling');
  });
});

describe('frame names', () => {
  it('formats Python and printf templates', () => {
    expect(frameFileName('img_{:05d}.jpg', 7)).toBe('img_00007.jpg');
    expect(frameFileName('frame{:d}.jpg', 12)).toBe('frame12.jpg');
    expect(frameFileName('{}.png', 3)).toBe('3.png');
    expect(frameFileName('f_%06d.png', 42)).toBe('f_000042.png');
    expect(() => frameFileName('img.jpg', 1)).toThrow(/no index placeholder/);
  });
  it('maps 0-based sample indices through the index bias', () => {
    const rec: FrameFolderRecord = { kind: 'frames', path: '/d/v', numFrames: 3, label: 0, source: 'l:1' };
    expect(framePaths(rec, [0, 2])).toEqual(['/d/v/img_00001.jpg', '/d/v/img_00003.jpg']);
    expect(framePaths(rec, [0], 'frame{:d}.jpg', 0)).toEqual(['/d/v/frame0.jpg']);
    expect(() => framePaths(rec, [3])).toThrow(/l:1: frame index 3/);
  });
  it('reads frames back as RGB', async () => {
    const folder = path.join(dir, 'vid');
    await mkdir(folder);
    const rgb = new Uint8Array(4 * 2 * 3).map((_, i) => i * 10);
    await writePng(path.join(folder, 'img_00001.png'), { width: 4, height: 2, rgb });
    const img = await readRgbImage(path.join(folder, 'img_00001.png'));
    expect([img.width, img.height]).toEqual([4, 2]);
    expect(Array.from(img.rgb)).toEqual(Array.from(rgb));
    await expect(readRgbImage(path.join(folder, 'missing.png'))).rejects.toThrow(/cannot read image/);
  });
});

describe('few-shot subsets', () => {
  const recs = Array.from({ length: 60 }, (_, i) => ({ label: i % 6, id: i }));
  it('takes exactly K per class, reproducibly from the seed', () => {
    const a = fewShotSubset(recs, { k: 3, seed: 7 });
    expect([...classCounts(a).values()]).toEqual([3, 3, 3, 3, 3, 3]);
    expect(fewShotSubset(recs, { k: 3, seed: 7 })).toEqual(a);
    const b = fewShotSubset(recs, { k: 3, seed: 8 });
    expect(b.map((r) => r.id)).not.toEqual(a.map((r) => r.id));
    // Keeps list order.
    const ids = a.map((r) => r.id);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
  });
  it('refuses classes with too few examples unless asked not to be strict', () => {
    const few = [...recs, { label: 9, id: 100 }];
    expect(() => fewShotSubset(few, { k: 2, seed: 1 })).toThrow(/class 9 has 1 example\(s\), fewer than k=2/);
    expect(fewShotSubset(few, { k: 2, seed: 1, strict: false }).filter((r) => r.label === 9)).toHaveLength(1);
    expect(() => fewShotSubset(recs, { k: 0, seed: 1 })).toThrow(ConfigError);
  });
});
