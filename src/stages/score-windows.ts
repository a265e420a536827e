import { Observable, type OperatorFunction } from 'rxjs';
import { ConfigError } from '../errors.js';
import { scoreEmbedding, topK } from '../model/scoring.js';
import type { VideoEmbedding, Vocabulary, WindowResult } from '../types.js';

export interface ScoreWindowsOptions {
  /** Labels in `topk`. Default 5 (fewer when the vocabulary is smaller). */
  readonly topk?: number;
}

// Scoring one embedding lives with the model (the draft scoring of src/control uses it too).
export { scoreEmbedding, topK, TEST_LOGIT_SCALE } from '../model/scoring.js';

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
