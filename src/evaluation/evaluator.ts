/**
 * Evaluation of a model over a dataset list: every video is cut into test views (one centre view,
 * or ActionCLIP's multi-view testing, e.g. 10 temporal clips × 3 spatial crops), each view is scored
 * exactly as inference scores a clip (template-averaged softmax of 100·cos), and the views' scores
 * are averaged per video before ranking. Works on any engine through ActionClipModel.
 *
 * Lists are ActionCLIP's (`video_path label`, `path num_frames label`); a label field holding a
 * comma-separated id list (`clip.mp4 3,17`) makes the list multi-label (Charades-style), where
 * mAP is the headline number and top-k counts a hit when any true class is within the top k.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import type { ActionClipModel } from '../engine/action-clip-model.js';
import { scoreVideos } from '../model/scoring.js';
import { makeTestViews, type ClipSource } from '../training/clip-loader.js';
import { parseDatasetList, type DatasetRecord, type ListOptions } from '../training/dataset.js';
import { classificationReport, meanAveragePrecision, rankOf } from './metrics.js';

/** A list entry with all its classes (one for single-label lists). */
export type EvalRecord = DatasetRecord & { readonly labels: readonly number[] };

export interface ViewSpec {
  /** Temporal clips per video. */
  clips: number;
  /** Spatial crops per clip: 1 (inference centre crop) or 3 (start/centre/end of the long side). */
  crops: 1 | 3;
}

export const SINGLE_VIEW: ViewSpec = { clips: 1, crops: 1 };
/** The paper's multi-view testing: 10 clips × 3 crops. */
export const MULTI_VIEW: ViewSpec = { clips: 10, crops: 3 };

/** `--views 1|30` (or any clips×crops product spelled `10x3`). */
export function parseViews(spec: string | number): ViewSpec {
  const s = String(spec).trim();
  if (s === '1') return SINGLE_VIEW;
  if (s === '30') return MULTI_VIEW;
  const m = /^(\d+)\s*[x×]\s*([13])$/.exec(s);
  if (m && Number(m[1]) > 0) return { clips: Number(m[1]), crops: Number(m[2]) as 1 | 3 };
  throw new ConfigError(`views must be 1, 30 or CLIPSxCROPS with 1 or 3 crops (e.g. 10x3), got "${s}"`);
}

export interface EvaluateOptions {
  labels: readonly string[];
  templates?: readonly string[];
  views?: ViewSpec;
  /** Views per forward pass (memory bound). */
  batchSize?: number;
  /** Frame template, index bias and decoded-video cache for the records. */
  source?: ClipSource;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface ClassResult {
  id: number;
  label: string;
  /** Videos showing the class. */
  samples: number;
  /** Of those, the fraction ranked first (NaN without samples). */
  accuracy: number;
  /** Average precision of the class over all videos (NaN without positives). */
  ap: number;
}

export interface EvaluationResult {
  samples: number;
  classes: number;
  views: ViewSpec;
  multiLabel: boolean;
  top1: number;
  top5: number;
  meanClassAccuracy: number;
  map: number;
  perClass: ClassResult[];
  /** Per video: true classes, top-1 class and its score. */
  predictions: Array<{ path: string; labels: readonly number[]; predicted: number; score: number }>;
  /** View-averaged class probabilities, one row per video. */
  scores: Float32Array[];
}

/** Reads a list, single- or multi-label (comma-separated ids in the label field). */
export async function loadEvalList(file: string, options: ListOptions = {}): Promise<EvalRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read dataset list ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return parseEvalList(text, file, options);
}

export function parseEvalList(text: string, file: string, options: ListOptions = {}): EvalRecord[] {
  const lines = text.split(/\r?\n/);
  const labelSets: number[][] = [];
  let multi = false;
  // Rewrite multi-label fields to their first id so the shared parser handles paths and formats.
  const rewritten = lines.map((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return raw;
    const m = /^(.*\S)\s+(\d+(?:\s*,\s*\d+)+)$/.exec(line);
    if (m === null) return raw;
    multi = true;
    const ids = m[2].split(',').map((s) => Number(s.trim()));
    if (options.numClasses !== undefined) {
      const bad = ids.find((id) => id >= options.numClasses!);
      if (bad !== undefined) throw new ConfigError(`${file}:${i + 1}: label ${bad} is out of range: the label file has ${options.numClasses} classes`);
    }
    labelSets[i] = [...new Set(ids)];
    return `${m[1]} ${ids[0]}`;
  });
  const records = parseDatasetList(rewritten.join('\n'), file, options);
  if (!multi) return records.map((r) => ({ ...r, labels: [r.label] }));
  return records.map((r) => {
    const lineNo = Number(r.source.slice(r.source.lastIndexOf(':') + 1));
    return { ...r, labels: labelSets[lineNo - 1] ?? [r.label] };
  });
}

/** Adds `labels: [label]` to single-label records. */
export function asEvalRecords(records: readonly DatasetRecord[]): EvalRecord[] {
  return records.map((r) => ('labels' in r ? (r as EvalRecord) : { ...r, labels: [r.label] }));
}

/** Scores every record (view-averaged probabilities) and computes the metrics. */
export async function evaluate(model: ActionClipModel, records: readonly (DatasetRecord | EvalRecord)[], options: EvaluateOptions): Promise<EvaluationResult> {
  const labels = [...options.labels];
  const templates = [...(options.templates ?? model.defaultTemplates)];
  const views = options.views ?? SINGLE_VIEW;
  const batchSize = options.batchSize ?? 16;
  if (records.length === 0) throw new ConfigError('evaluation: the list is empty');
  const recs = asEvalRecords(records as DatasetRecord[]);
  for (const r of recs) {
    for (const l of r.labels) if (l >= labels.length) throw new ConfigError(`${r.source}: label ${l} is out of range for ${labels.length} labels`);
  }
  const { frames: t, imageSize: s } = model.info;
  const perView = t * 3 * s * s;
  const sums = recs.map(() => new Float64Array(labels.length));
  const counts = new Int32Array(recs.length);
  let pending: Array<{ record: number; pixels: Float32Array }> = [];
  // Chunked and cached by the model (trainer.model() is a fresh model per evaluation, so never stale).
  const prompts = await model.promptEmbeddings(labels, templates);

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const n = pending.length;
    const px = new Float32Array(n * perView);
    pending.forEach((p, i) => px.set(p.pixels, i * perView));
    // model.classify's scoring, with prompt embeddings computed once (in chunks) for the whole list.
    const probs = scoreVideos(await model.encodeVideos(px, n), n, prompts, labels.length, templates.length);
    pending.forEach((p, i) => {
      const row = sums[p.record];
      for (let j = 0; j < labels.length; j++) row[j] += probs[i * labels.length + j];
      counts[p.record]++;
    });
    pending = [];
  };

  for (let i = 0; i < recs.length; i++) {
    options.signal?.throwIfAborted();
    const viewPixels = await makeTestViews(recs[i], { ...options.source, segments: t, size: s, clips: views.clips, crops: views.crops });
    for (const pixels of viewPixels) {
      pending.push({ record: i, pixels });
      if (pending.length >= batchSize) await flush();
    }
    options.onProgress?.(i + 1, recs.length);
  }
  await flush();
  // The element-wise mean over a video's views (metrics.averageViews, accumulated in float64).
  const scores = sums.map((row, i) => Float32Array.from(row, (v) => v / counts[i]));
  return computeMetrics(scores, recs, labels, views);
}

/**
 * Every template × label prompt embedded (template-major), in chunks: large vocabularies
 * (Kinetics-400: 6400 prompts) in one batch exceed the wasm backend's memory.
 */
/** Metrics from view-averaged scores; exported for callers that score elsewhere. */
export function computeMetrics(scores: Float32Array[], recs: readonly EvalRecord[], labels: readonly string[], views: ViewSpec = SINGLE_VIEW): EvaluationResult {
  const c = labels.length;
  const multiLabel = recs.some((r) => r.labels.length > 1);
  const targets = recs.map((r) => {
    const row = new Uint8Array(c);
    for (const l of r.labels) row[l] = 1;
    return row;
  });
  const mapResult = meanAveragePrecision(scores, targets);
  const argmax = (row: Float32Array): number => row.reduce((best, v, j) => (v > row[best] ? j : best), 0);
  const predicted = scores.map(argmax);

  let top1: number;
  let top5: number;
  let perClassAcc: number[];
  if (!multiLabel) {
    const rep = classificationReport(scores, recs.map((r) => r.label));
    ({ top1, top5 } = rep);
    perClassAcc = rep.perClass;
  } else {
    // A hit when any of the video's classes is within the top k.
    const hitAt = (k: number): number => recs.filter((r, i) => r.labels.some((l) => rankOf(scores[i], l) < k)).length / recs.length;
    top1 = hitAt(1);
    top5 = hitAt(Math.min(5, c));
    perClassAcc = labels.map((_, j) => {
      const idx = recs.flatMap((r, i) => (r.labels.includes(j) ? [i] : []));
      return idx.length === 0 ? Number.NaN : idx.filter((i) => predicted[i] === j).length / idx.length;
    });
  }
  const perClass: ClassResult[] = labels.map((label, j) => ({
    id: j,
    label,
    samples: recs.filter((r) => r.labels.includes(j)).length,
    accuracy: perClassAcc[j],
    ap: mapResult.perClass[j],
  }));
  const present = perClass.filter((p) => p.samples > 0);
  return {
    samples: recs.length,
    classes: c,
    views,
    multiLabel,
    top1,
    top5,
    meanClassAccuracy: present.reduce((a, p) => a + p.accuracy, 0) / present.length,
    map: mapResult.map,
    perClass,
    predictions: recs.map((r, i) => ({ path: r.path, labels: r.labels, predicted: predicted[i], score: scores[i][predicted[i]] })),
    scores,
  };
}

const pct = (v: number): string => (Number.isNaN(v) ? '   -  ' : `${(v * 100).toFixed(2).padStart(6)}%`);

/** Human-readable summary and per-class table. */
export function formatEvaluationTable(r: EvaluationResult, options: { perClass?: boolean } = {}): string {
  const v = r.views.clips * r.views.crops;
  const lines = [
    `${r.samples} videos, ${r.classes} classes, ${v} view${v === 1 ? '' : 's'} per video (${r.views.clips} clip${r.views.clips === 1 ? '' : 's'} × ${r.views.crops} crop${r.views.crops === 1 ? '' : 's'})${r.multiLabel ? ', multi-label' : ''}`,
    `top-1 ${pct(r.top1).trim()}   top-5 ${pct(r.top5).trim()}   mean class accuracy ${pct(r.meanClassAccuracy).trim()}   mAP ${pct(r.map).trim()}`,
  ];
  if (options.perClass ?? true) {
    const width = Math.min(40, Math.max(5, ...r.perClass.map((p) => p.label.length)));
    lines.push('', `${'class'.padEnd(width)}  ${'n'.padStart(5)}  ${'top-1'.padStart(7)}  ${'AP'.padStart(7)}`);
    for (const p of r.perClass) {
      if (p.samples === 0) continue;
      lines.push(`${p.label.slice(0, width).padEnd(width)}  ${String(p.samples).padStart(5)}  ${pct(p.accuracy)}  ${pct(p.ap)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** JSON-safe summary (NaN → null; scores only on request, they are videos × classes). */
export function evaluationToJson(r: EvaluationResult, options: { scores?: boolean } = {}): Record<string, unknown> {
  const num = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return {
    samples: r.samples,
    classes: r.classes,
    views: r.views,
    multiLabel: r.multiLabel,
    top1: num(r.top1),
    top5: num(r.top5),
    meanClassAccuracy: num(r.meanClassAccuracy),
    map: num(r.map),
    perClass: r.perClass.map((p) => ({ ...p, accuracy: num(p.accuracy), ap: num(p.ap) })),
    predictions: r.predictions,
    ...(options.scores ? { scores: r.scores.map((row) => Array.from(row)) } : {}),
  };
}
