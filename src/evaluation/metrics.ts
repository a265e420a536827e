/**
 * Evaluation metrics on host score matrices (one row of class scores per video).
 * Ties rank in the true class's favour only when strictly beaten: a label counts as within the
 * top k when fewer than k classes score strictly higher (deterministic, independent of order).
 */
export type ScoreRows = ReadonlyArray<ArrayLike<number>>;

function checkRows(scores: ScoreRows, n: number, what: string): number {
  if (scores.length !== n) throw new RangeError(`${what}: ${scores.length} score rows for ${n} labels`);
  if (scores.length === 0) throw new RangeError(`${what}: no samples`);
  const c = scores[0].length;
  for (let i = 0; i < scores.length; i++) if (scores[i].length !== c) throw new RangeError(`${what}: row ${i} has ${scores[i].length} scores, row 0 has ${c}`);
  return c;
}

/** Rank of `label` in `row`: the number of classes scoring strictly higher. */
export function rankOf(row: ArrayLike<number>, label: number): number {
  const s = row[label];
  let r = 0;
  for (let j = 0; j < row.length; j++) if (row[j] > s) r++;
  return r;
}

/** Fraction of samples whose label is within the top k. */
export function topKAccuracy(scores: ScoreRows, labels: readonly number[], k: number): number {
  const c = checkRows(scores, labels.length, 'topKAccuracy');
  let hit = 0;
  labels.forEach((l, i) => {
    if (!(Number.isInteger(l) && l >= 0 && l < c)) throw new RangeError(`topKAccuracy: label ${l} of sample ${i} outside 0..${c - 1}`);
    if (rankOf(scores[i], l) < k) hit++;
  });
  return hit / labels.length;
}

export interface ClassificationReport {
  top1: number;
  top5: number;
  /** Top-1 accuracy per class; NaN where the class has no samples. */
  perClass: number[];
  /** Mean of `perClass` over classes with samples ("mean class accuracy"). */
  meanClassAccuracy: number;
  samples: number;
}

export function perClassAccuracy(scores: ScoreRows, labels: readonly number[], numClasses?: number): number[] {
  const c = numClasses ?? checkRows(scores, labels.length, 'perClassAccuracy');
  const hit = new Array<number>(c).fill(0);
  const count = new Array<number>(c).fill(0);
  labels.forEach((l, i) => {
    count[l]++;
    if (rankOf(scores[i], l) === 0) hit[l]++;
  });
  return count.map((n, j) => (n === 0 ? Number.NaN : hit[j] / n));
}

export function classificationReport(scores: ScoreRows, labels: readonly number[]): ClassificationReport {
  const c = checkRows(scores, labels.length, 'classificationReport');
  const perClass = perClassAccuracy(scores, labels, c);
  const present = perClass.filter((v) => !Number.isNaN(v));
  return {
    top1: topKAccuracy(scores, labels, 1),
    top5: topKAccuracy(scores, labels, Math.min(5, c)),
    perClass,
    meanClassAccuracy: present.reduce((a, b) => a + b, 0) / present.length,
    samples: labels.length,
  };
}

export interface MapResult {
  /** Mean AP over classes with at least one positive. */
  map: number;
  /** AP per class; NaN for classes without positives. */
  perClass: number[];
}

/**
 * Multi-label mean average precision as the Charades evaluation computes it: per class, rank the
 * videos by score (descending; equal scores keep video order), AP = mean over the positives of
 * the precision at each positive's rank; mAP = mean over classes with ≥1 positive.
 * `targets[i][j]` is 1 (or true) when video i shows class j.
 */
export function meanAveragePrecision(scores: ScoreRows, targets: ReadonlyArray<ArrayLike<number | boolean>>): MapResult {
  const c = checkRows(scores, targets.length, 'meanAveragePrecision');
  const n = scores.length;
  targets.forEach((t, i) => {
    if (t.length !== c) throw new RangeError(`meanAveragePrecision: target row ${i} has ${t.length} classes, scores have ${c}`);
  });
  const perClass: number[] = [];
  const order = Array.from({ length: n }, (_, i) => i);
  for (let j = 0; j < c; j++) {
    const ranked = [...order].sort((a, b) => scores[b][j] - scores[a][j] || a - b);
    let tp = 0;
    let sum = 0;
    ranked.forEach((i, r) => {
      if (Number(targets[i][j]) === 1) {
        tp++;
        sum += tp / (r + 1);
      }
    });
    perClass.push(tp === 0 ? Number.NaN : sum / tp);
  }
  const valid = perClass.filter((v) => !Number.isNaN(v));
  return { map: valid.length === 0 ? Number.NaN : valid.reduce((a, b) => a + b, 0) / valid.length, perClass };
}

/**
 * Multi-view aggregation: the element-wise mean of each view's similarities (views × clips ×
 * crops of one video), as ActionCLIP averages over views before taking the arg-max.
 */
export function averageViews(views: ReadonlyArray<ArrayLike<number>>): Float32Array {
  if (views.length === 0) throw new RangeError('averageViews: no views');
  const n = views[0].length;
  const acc = new Float64Array(n);
  views.forEach((v, k) => {
    if (v.length !== n) throw new RangeError(`averageViews: view ${k} has ${v.length} values, view 0 has ${n}`);
    for (let i = 0; i < n; i++) acc[i] += v[i];
  });
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = acc[i] / views.length;
  return out;
}

/** Groups consecutive rows of `scores` (`viewsPerVideo` per video) and averages each group. */
export function aggregateViewRows(scores: ScoreRows, viewsPerVideo: number): Float32Array[] {
  if (!(Number.isInteger(viewsPerVideo) && viewsPerVideo > 0)) throw new RangeError(`viewsPerVideo must be a positive integer, got ${viewsPerVideo}`);
  if (scores.length % viewsPerVideo !== 0) throw new RangeError(`aggregateViewRows: ${scores.length} rows is not a multiple of ${viewsPerVideo} views`);
  const out: Float32Array[] = [];
  for (let i = 0; i < scores.length; i += viewsPerVideo) out.push(averageViews(scores.slice(i, i + viewsPerVideo)));
  return out;
}

/** Confusion counts `[true][predicted]` of top-1 predictions. */
export function confusionMatrix(scores: ScoreRows, labels: readonly number[], numClasses?: number): number[][] {
  const c = numClasses ?? checkRows(scores, labels.length, 'confusionMatrix');
  const m = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  labels.forEach((l, i) => {
    const row = scores[i];
    let best = 0;
    for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
    m[l][best]++;
  });
  return m;
}
