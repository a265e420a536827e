import type { Observable, OperatorFunction } from 'rxjs';
import type { LabelScore, VideoEmbedding, Vocabulary, WindowResult } from '../types.js';

export interface ScoreWindowsOptions {
  /** Labels in `topk`. Default 5 (fewer when the vocabulary is smaller). */
  readonly topk?: number;
}

/**
 * ActionCLIP's test-time scoring of one video embedding against a vocabulary:
 * v̂ = v/|v|, logits = 100 · v̂ · t̂ᵀ over all M·L prompts, viewed as [M templates, L labels],
 * softmax over labels within each template, mean over templates. Returns `[L]` probabilities.
 */
export function scoreEmbedding(embedding: Float32Array, vocabulary: Vocabulary): Float32Array {
  void embedding;
  void vocabulary;
  throw new Error('not implemented');
}

/** The `k` best labels, highest first (ties: vocabulary order). */
export function topK(scores: Float32Array, labels: readonly string[], k: number): LabelScore[] {
  void scores;
  void labels;
  void k;
  throw new Error('not implemented');
}

/**
 * Scores each video embedding with the vocabulary current when it arrives (exactly one version per
 * window, reported as `vocabularyVersion`). Windows arriving before the first vocabulary wait for it.
 */
export function scoreWindows(vocabulary$: Observable<Vocabulary>, options: ScoreWindowsOptions = {}): OperatorFunction<VideoEmbedding, WindowResult> {
  void vocabulary$;
  void options;
  throw new Error('not implemented');
}
