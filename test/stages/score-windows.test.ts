import { BehaviorSubject, firstValueFrom, from, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { scoreEmbedding, scoreWindows, topK } from '../../src/stages/score-windows.js';
import { vocabularyFromEmbeddings } from '../../src/control/vocabulary-store.js';
import { readSafetensors } from '../../src/model/weights/safetensors.js';
import type { VideoEmbedding, Vocabulary, WindowResult } from '../../src/types.js';
import { fixture, fixtureMeta, HAVE_FIXTURES, maxAbsError } from '../support/fixtures.js';

/** 2 templates x 3 labels in 2-D: t(m, l) at angle theta(m, l). */
const angles = [
  [0, Math.PI / 2, Math.PI],
  [0.1, Math.PI / 3, -Math.PI / 2],
];
const vocab = (version = 1, labels = ['a', 'b', 'c']): Vocabulary =>
  vocabularyFromEmbeddings({
    version,
    labels,
    templates: ['{}', 'x {}'],
    textEmbeddings: new Float32Array(angles.flatMap((row) => row.flatMap((th) => [Math.cos(th), Math.sin(th)]))),
    createdAt: 0,
  });

const video = (camera: string, embedding: number[], start = 0): VideoEmbedding => ({ camera, start, end: start + 700, firstSeq: 0, frames: 8, embedding: new Float32Array(embedding) });

describe('scoreEmbedding (ActionCLIP test-time scoring)', () => {
  it('matches a hand computation: softmax(100 cos) per template, mean over templates', () => {
    const v = [3, 4]; // not unit length: the scorer normalises
    const phi = Math.atan2(4, 3);
    const expected = [0, 0, 0];
    for (const row of angles) {
      const logits = row.map((th) => 100 * Math.cos(th - phi));
      const max = Math.max(...logits);
      const e = logits.map((z) => Math.exp(z - max));
      const sum = e.reduce((a, b) => a + b, 0);
      e.forEach((x, l) => (expected[l] += x / sum / angles.length));
    }
    const got = scoreEmbedding(new Float32Array(v), vocab());
    expect(maxAbsError(got, expected)).toBeLessThan(1e-6);
    expect(got.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('topK sorts by score, ties in vocabulary order, k capped at the vocabulary size', () => {
    const s = new Float32Array([0.1, 0.5, 0.1, 0.3]);
    expect(topK(s, ['a', 'b', 'c', 'd'], 3).map((x) => x.label)).toEqual(['b', 'd', 'a']);
    expect(topK(s, ['a', 'b', 'c', 'd'], 10)).toHaveLength(4);
  });
});

describe('scoreWindows', () => {
  it('emits WindowResults with top-k, all scores and the version used', async () => {
    const out = await firstValueFrom(from([video('cam1', [0, 1], 1000)]).pipe(scoreWindows(new BehaviorSubject(vocab()), { topk: 2 }), toArray()));
    const r = out[0];
    expect(r).toMatchObject({ camera: 'cam1', windowStart: 1000, windowEnd: 1700, frames: 8, labels: ['a', 'b', 'c'], vocabularyVersion: 1 });
    expect(r.topk.map((x) => x.label)).toEqual(['b', 'a']);
    expect(r.topk[0].score).toBe(r.scores[1]);
  });

  it('scores each window with exactly the version current when it arrives', () => {
    const vocab$ = new BehaviorSubject(vocab(1));
    const src = new Subject<VideoEmbedding>();
    const out: WindowResult[] = [];
    const sub = src.pipe(scoreWindows(vocab$)).subscribe((r) => out.push(r));
    src.next(video('a', [1, 0]));
    vocab$.next(vocab(2, ['p', 'q', 'r']));
    src.next(video('a', [1, 0]));
    expect(out.map((r) => [r.vocabularyVersion, r.labels[0]])).toEqual([[1, 'a'], [2, 'p']]);
    sub.unsubscribe();
    expect(vocab$.observed).toBe(false);
    expect(src.observed).toBe(false);
  });
});

describe.skipIf(!HAVE_FIXTURES)('scorer against the ActionCLIP reference', () => {
  it('reproduces probs.{head} from video_embedding.{head} and text_embeddings, every head', async () => {
    const meta = fixtureMeta();
    const { tensors } = await readSafetensors(fixture('cases.safetensors'));
    const text = tensors.get('text_embeddings')!;
    const v = vocabularyFromEmbeddings({ version: 1, labels: meta.labels, templates: meta.templates, textEmbeddings: text.data as Float32Array });
    const D = v.dim;
    const L = meta.labels.length;
    expect(D).toBe(64);
    const heads = ['meanP', ...meta.fusion_heads.filter((h) => h !== 'meanP')];
    for (const head of heads) {
      const videoEmb = tensors.get(`video_embedding.${head}`);
      const probs = tensors.get(`probs.${head}`);
      if (head === 'meanP') expect(videoEmb).toBeDefined();
      if (videoEmb === undefined || probs === undefined) continue;
      for (let b = 0; b < meta.batch; b++) {
        const got = scoreEmbedding((videoEmb.data as Float32Array).subarray(b * D, (b + 1) * D), v);
        expect(maxAbsError(got, (probs.data as Float32Array).subarray(b * L, (b + 1) * L)), `${head}[${b}]`).toBeLessThan(1e-4);
      }
    }
  });
});
