import { EngineError } from '../errors.js';
import type { LabelScore, Vocabulary } from '../types.js';

/**
 * ActionCLIP's test-time scoring on host arrays:
 * `(100 · v̂ t̂ᵀ).view(b, M, L).softmax(-1).mean(1)` with prompts template-major (prompt i = template
 * i // L applied to label i % L).
 */
export const TEST_TIME_SCALE = 100;

export function normalizeRows(x: Float32Array, rows: number): Float64Array {
  const d = x.length / rows;
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[r * d + j] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) out[r * d + j] = x[r * d + j] * inv;
  }
  return out;
}

/**
 * Cosine similarity of every video to every prompt, `[b, P]`, from L2-normalised rows. Accumulated in
 * float64: the 100× scale makes the softmax sensitive to rounding.
 */
export function cosineMatrix(videosNormed: ArrayLike<number>, b: number, promptsNormed: ArrayLike<number>, p: number): Float64Array {
  const d = videosNormed.length / b;
  const out = new Float64Array(b * p);
  for (let i = 0; i < b; i++) {
    for (let k = 0; k < p; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += videosNormed[i * d + j] * promptsNormed[k * d + j];
      out[i * p + k] = s;
    }
  }
  return out;
}

/** `[b, L]` probabilities from `[b, M·L]` cosines (template-major). */
export function templateAveragedProbs(cosines: ArrayLike<number>, b: number, labels: number, templates: number, scale = TEST_TIME_SCALE): Float32Array {
  const out = new Float32Array(b * labels);
  const row = new Float64Array(labels);
  for (let i = 0; i < b; i++) {
    for (let m = 0; m < templates; m++) {
      let max = -Infinity;
      for (let l = 0; l < labels; l++) {
        row[l] = scale * cosines[i * templates * labels + m * labels + l];
        if (row[l] > max) max = row[l];
      }
      let sum = 0;
      for (let l = 0; l < labels; l++) {
        row[l] = Math.exp(row[l] - max);
        sum += row[l];
      }
      for (let l = 0; l < labels; l++) out[i * labels + l] += row[l] / sum / templates;
    }
  }
  return out;
}

/** Video embeddings (not normalised) and prompt embeddings (not normalised) to `[b, L]` probabilities. */
export function scoreVideos(videos: Float32Array, b: number, promptEmbeddings: Float32Array, labels: number, templates: number): Float32Array {
  const p = labels * templates;
  return templateAveragedProbs(cosineMatrix(normalizeRows(videos, b), b, normalizeRows(promptEmbeddings, p), p), b, labels, templates);
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
