/**
 * The health panel's figures from GET /metrics/json (prom-client's JSON of the same series as
 * /metrics): rates from counter deltas, means and quantiles from histogram deltas between two reads.
 */

export interface MetricValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

export interface MetricJson {
  readonly name: string;
  readonly type: string;
  readonly values: readonly MetricValue[];
}

export type Snapshot = ReadonlyMap<string, MetricJson>;

export const bySeries = (json: readonly MetricJson[]): Snapshot => new Map(json.map((m) => [m.name, m]));

/** Sum of a counter's values grouped by one label. */
export function sumBy(s: Snapshot, name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of s.get(name)?.values ?? []) {
    const k = String(v.labels[label] ?? '');
    out.set(k, (out.get(k) ?? 0) + v.value);
  }
  return out;
}

/** Per-second increase of each group between two reads `dt` seconds apart (a restart's drop counts as 0). */
export function rates(prev: Snapshot, next: Snapshot, name: string, label: string, dt: number): Map<string, number> {
  const a = sumBy(prev, name, label);
  const out = new Map<string, number>();
  for (const [k, v] of sumBy(next, name, label)) out.set(k, Math.max(0, v - (a.get(k) ?? 0)) / dt);
  return out;
}

interface Histogram {
  /** Cumulative counts by upper bound, ascending. */
  readonly buckets: Array<[number, number]>;
  readonly sum: number;
  readonly count: number;
}

/** One histogram's series for the values whose labels match `where`. */
export function histogram(s: Snapshot, name: string, where: Record<string, string>): Histogram {
  const h: Histogram = { buckets: [], sum: 0, count: 0 };
  let sum = 0;
  let count = 0;
  for (const v of s.get(name)?.values ?? []) {
    if (!Object.entries(where).every(([k, x]) => String(v.labels[k]) === x)) continue;
    if (v.metricName === `${name}_bucket`) h.buckets.push([v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), v.value]);
    else if (v.metricName === `${name}_sum`) sum = v.value;
    else if (v.metricName === `${name}_count`) count = v.value;
  }
  h.buckets.sort((x, y) => x[0] - y[0]);
  return { ...h, sum, count };
}

/** What was observed between two reads of the same histogram. */
export function delta(prev: Histogram, next: Histogram): Histogram {
  const before = new Map(prev.buckets);
  return { buckets: next.buckets.map(([le, c]) => [le, c - (before.get(le) ?? 0)]), sum: next.sum - prev.sum, count: next.count - prev.count };
}

export const mean = (h: Histogram): number | null => (h.count > 0 ? h.sum / h.count : null);

/** The q-quantile by linear interpolation inside its bucket, as Prometheus' histogram_quantile does. */
export function quantile(h: Histogram, q: number): number | null {
  const total = h.buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, c] of h.buckets) {
    if (c >= rank) {
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(1, c - below);
    }
    lower = le;
    below = c;
  }
  return lower;
}
