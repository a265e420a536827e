import { describe, expect, it } from 'vitest';
import {
  aggregateViewRows,
  averageViews,
  classificationReport,
  confusionMatrix,
  meanAveragePrecision,
  perClassAccuracy,
  topKAccuracy,
} from '../../src/evaluation/metrics.js';

describe('top-k accuracy', () => {
  const scores = [
    [0.1, 0.7, 0.2], // label 1: rank 0
    [0.5, 0.3, 0.2], // label 2: rank 2
    [0.2, 0.3, 0.5], // label 0: rank 2
    [0.6, 0.1, 0.3], // label 2: rank 1
  ];
  const labels = [1, 2, 0, 2];
  it('counts hits within the top k', () => {
    expect(topKAccuracy(scores, labels, 1)).toBe(0.25);
    expect(topKAccuracy(scores, labels, 2)).toBe(0.5);
    expect(topKAccuracy(scores, labels, 3)).toBe(1);
  });
  it('per-class accuracy and the report', () => {
    expect(perClassAccuracy(scores, labels)).toEqual([0, 1, 0]);
    const r = classificationReport(scores, labels);
    expect(r.top1).toBe(0.25);
    expect(r.top5).toBe(1); // only 3 classes
    expect(r.meanClassAccuracy).toBeCloseTo(1 / 3, 12);
    expect(perClassAccuracy([[1, 0, 0]], [0], 4)).toEqual([1, Number.NaN, Number.NaN, Number.NaN]);
    // Predictions 1, 0, 2, 0 for labels 1, 2, 0, 2.
    expect(confusionMatrix(scores, labels)).toEqual([
      [0, 0, 1],
      [0, 1, 0],
      [2, 0, 0],
    ]);
  });
  it('ties count against the label only when strictly beaten', () => {
    expect(topKAccuracy([[0.5, 0.5, 0.1]], [1], 1)).toBe(1);
  });
  it('checks shapes and labels', () => {
    expect(() => topKAccuracy(scores, [1, 2], 1)).toThrow(/4 score rows for 2 labels/);
    expect(() => topKAccuracy([[1, 2], [1]], [0, 0], 1)).toThrow(/row 1 has 1 scores/);
    expect(() => topKAccuracy([[1, 2]], [2], 1)).toThrow(/label 2/);
  });
});

describe('mean average precision (Charades style)', () => {
  it('equals the value worked out by hand', () => {
    // 5 videos × 3 classes.
    const scores = [
      [0.9, 0.1, 0.3],
      [0.8, 0.7, 0.2],
      [0.3, 0.6, 0.9],
      [0.5, 0.2, 0.8],
      [0.1, 0.9, 0.1],
    ];
    const targets = [
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 0],
      [0, 0, 0],
      [1, 1, 0],
    ];
    // Class 0: ranking by score = videos 0 (.9, +), 1 (.8, -), 3 (.5, -), 2 (.3, +), 4 (.1, +).
    //   precisions at the positives: 1/1, 2/4, 3/5 → AP0 = (1 + 0.5 + 0.6) / 3 = 0.7.
    // Class 1: ranking = 4 (.9, +), 1 (.7, +), 2 (.6, -), 3 (.2, -), 0 (.1, -).
    //   precisions: 1/1, 2/2 → AP1 = 1.
    // Class 2: no positives → excluded.
    // mAP = (0.7 + 1) / 2 = 0.85.
    const r = meanAveragePrecision(scores, targets);
    expect(r.perClass[0]).toBeCloseTo(0.7, 12);
    expect(r.perClass[1]).toBeCloseTo(1, 12);
    expect(r.perClass[2]).toBeNaN();
    expect(r.map).toBeCloseTo(0.85, 12);
  });
  it('a single positive ranked third gives AP 1/3; booleans work as targets', () => {
    const r = meanAveragePrecision([[0.9], [0.8], [0.7], [0.1]], [[false], [false], [true], [false]]);
    expect(r.map).toBeCloseTo(1 / 3, 12);
  });
});

describe('multi-view aggregation', () => {
  it('averages similarities over views', () => {
    const v = averageViews([
      [1, 2, 3],
      [3, 2, 1],
      [2, 5, 2],
    ]);
    expect(Array.from(v)).toEqual([2, 3, 2]);
    const rows = aggregateViewRows([[1, 0], [0, 1], [4, 4], [2, 0]], 2);
    expect(rows.map((r) => Array.from(r))).toEqual([[0.5, 0.5], [3, 2]]);
    expect(() => aggregateViewRows([[1], [2], [3]], 2)).toThrow(/multiple of 2/);
    expect(() => averageViews([[1, 2], [1]])).toThrow(/view 1/);
  });
});
