/** The health panel: frames in and dropped per camera, batch sizes, engine latency, frame-to-detection p50/p99, as small live charts. */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Chart } from './chart.js';
import { bySeries, delta, histogram, mean, quantile, rates, type MetricJson, type Snapshot } from './metrics.js';

const POLL_MS = 2000;
/** Points each chart keeps: two minutes at one read every two seconds. */
const KEEP = 60;

interface Series {
  t: number[];
  values: Map<string, Array<number | null>>;
}

type Panel = 'frames' | 'dropped' | 'batch' | 'latency' | 'detection';
const PANELS: ReadonlyArray<[Panel, string]> = [
  ['frames', 'Frames in per second, per camera'],
  ['dropped', 'Frames dropped per second, per camera'],
  ['batch', 'Batch size (mean)'],
  ['latency', 'Engine latency, ms (mean)'],
  ['detection', 'Frame to detection, ms'],
];

/** The figures of one interval between two reads. */
function figures(prev: Snapshot, next: Snapshot, dt: number): Record<Panel, Map<string, number | null>> {
  const stage = (name: string, s: string) => delta(histogram(prev, name, { stage: s }), histogram(next, name, { stage: s }));
  const detection = delta(histogram(prev, 'actionclip_frame_to_output_latency_seconds', { kind: 'window' }), histogram(next, 'actionclip_frame_to_output_latency_seconds', { kind: 'window' }));
  // The metrics are in seconds (Prometheus' base unit); the charts read better in ms.
  const ms = (x: number | null): number | null => (x === null ? null : x * 1000);
  return {
    frames: rates(prev, next, 'actionclip_frames_in_total', 'camera', dt),
    dropped: rates(prev, next, 'actionclip_frames_dropped_total', 'camera', dt),
    batch: new Map([
      ['encoder', mean(stage('actionclip_batch_size', 'encoder'))],
      ['fusion', mean(stage('actionclip_batch_size', 'fusion'))],
    ]),
    latency: new Map([
      ['encoder', ms(mean(stage('actionclip_engine_latency_seconds', 'encoder')))],
      ['fusion', ms(mean(stage('actionclip_engine_latency_seconds', 'fusion')))],
    ]),
    detection: new Map([
      ['p50', ms(quantile(detection, 0.5))],
      ['p99', ms(quantile(detection, 0.99))],
    ]),
  };
}

function push(series: Series, t: number, values: Map<string, number | null>): Series {
  const n = series.t.length;
  const out: Series = { t: [...series.t, t].slice(-KEEP), values: new Map() };
  for (const key of new Set([...series.values.keys(), ...values.keys()])) {
    const old = series.values.get(key) ?? new Array<number | null>(n).fill(null);
    out.values.set(key, [...old, values.get(key) ?? null].slice(-KEEP));
  }
  return out;
}

const empty = (): Record<Panel, Series> => Object.fromEntries(PANELS.map(([p]): [Panel, Series] => [p, { t: [], values: new Map() }])) as Record<Panel, Series>;

export function HealthPanel() {
  const [charts, setCharts] = useState(empty);
  const [error, setError] = useState('');
  useEffect(() => {
    let prev: { at: number; snap: Snapshot } | undefined;
    let stop = false;
    const read = async (): Promise<void> => {
      try {
        const snap = bySeries(await api<MetricJson[]>('GET', '/metrics/json'));
        const at = Date.now();
        if (prev !== undefined && !stop) {
          const f = figures(prev.snap, snap, (at - prev.at) / 1000);
          setCharts((c) => Object.fromEntries(PANELS.map(([p]): [Panel, Series] => [p, push(c[p], at / 1000, f[p])])) as Record<Panel, Series>);
        }
        prev = { at, snap };
        setError('');
      } catch (err) {
        setError((err as Error).message);
      }
    };
    void read();
    const timer = setInterval(() => void read(), POLL_MS);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, []);
  return (
    <section aria-labelledby="health-title" data-testid="health">
      <h2 id="health-title">Health</h2>
      {error !== '' && <p class="error">{error}</p>}
      <div class="health-grid">
        {PANELS.map(([p, title]) => {
          const s = charts[p];
          const keys = [...s.values.keys()].sort();
          const last = keys.map((k) => `${k} ${fmt(s.values.get(k)!.at(-1))}`).join(', ');
          return (
            <figure key={p}>
              <figcaption>
                {title}: <span class="figure">{last === '' ? 'waiting for data' : last}</span>
              </figcaption>
              <Chart title={title} data={[s.t, ...keys.map((k) => s.values.get(k)!)]} series={keys} height={110} />
            </figure>
          );
        })}
      </div>
    </section>
  );
}

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
