import { Observable, type OperatorFunction } from 'rxjs';
import { ConfigError, EngineError } from '../errors.js';
import { cosineMatrix, normalizeRows, templateAveragedProbs, TEST_TIME_SCALE } from '../model/scoring.js';
import type { LabelScore, VideoEmbedding, Vocabulary, WindowResult } from '../types.js';

export interface ScoreWindowsOptions {
  /** Labels in `topk`. Default 5 (fewer when the vocabulary is smaller). */
  readonly topk?: number;
}

/** ActionCLIP scales cosine similarities by 100 at test time (not the learned logit_scale). */
export const TEST_LOGIT_SCALE = TEST_TIME_SCALE;

/**
 * ActionCLIP's test-time scoring of one video embedding against a vocabulary:
 * v̂ = v/|v|, logits = 100 · v̂ · t̂ᵀ over all M·L prompts, viewed as [M templates, L labels],
 * softmax over labels within each template, mean over templates. Returns `[L]` probabilities.
 */
export function scoreEmbedding(embedding: Float32Array, vocabulary: Vocabulary): Float32Array {
  const { dim, labels, templates, textEmbeddings } = vocabulary;
  if (embedding.length !== dim) throw new EngineError(`video embedding has dimension ${embedding.length}, the vocabulary ${dim}`, false);
  // The vocabulary's text embeddings are stored L2-normalised already.
  const cosines = cosineMatrix(normalizeRows(embedding, 1), 1, textEmbeddings, labels.length * templates.length);
  return templateAveragedProbs(cosines, 1, labels.length, templates.length, TEST_LOGIT_SCALE);
}

/** The `k` best labels, highest first (ties: vocabulary order). */
export function topK(scores: Float32Array, labels: readonly string[], k: number): LabelScore[] {
  const idx = Array.from(scores, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, Math.max(0, Math.min(k, labels.length))).map((i) => ({ label: labels[i], score: scores[i] }));
}

/**
 * Scores each video embedding with the vocabulary current when it arrives (exactly one version per
 * window, reported as `vocabularyVersion`). Windows arriving before the first vocabulary are
 * skipped (a VocabularyStore always has one). Scoring is synchronous, so a vocabulary swap can
 * never land in the middle of a window.
 */
export function scoreWindows(vocabulary$: Observable<Vocabulary>, options: ScoreWindowsOptions = {}): OperatorFunction<VideoEmbedding, WindowResult> {
  const k = options.topk ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new ConfigError(`topk must be an integer >= 1, got ${k}`);
  return (source) =>
    new Observable<WindowResult>((subscriber) => {
      let vocab: Vocabulary | undefined;
      // Subscribed first so a BehaviorSubject's current version is there before the first window.
      const vocabSub = vocabulary$.subscribe({ next: (v) => (vocab = v), error: (err: unknown) => subscriber.error(err) });
      const sub = source.subscribe({
        next: (v) => {
          const used = vocab;
          if (used === undefined) return;
          let scores: Float32Array;
          try {
            scores = scoreEmbedding(v.embedding, used);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          subscriber.next({
            camera: v.camera,
            windowStart: v.start,
            windowEnd: v.end,
            frames: v.frames,
            topk: topK(scores, used.labels, k),
            scores,
            labels: used.labels,
            vocabularyVersion: used.version,
          });
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        sub.unsubscribe();
        vocabSub.unsubscribe();
      };
    });
}
