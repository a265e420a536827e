// The health panel's arithmetic on prom-client's JSON, against a real registry's output.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import { bySeries, delta, histogram, mean, quantile, rates, type MetricJson } from '../../web/metrics.js';

// Through JSON as the page gets it (prom-client hands out its live value objects).
const read = async (m: Metrics) => bySeries(JSON.parse(JSON.stringify(await m.registry.getMetricsAsJSON())) as MetricJson[]);

describe('health panel figures', () => {
  it('rates per camera from counter deltas', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.framesIn.inc({ camera: 'a', source: 'camera' }, 10);
    const before = await read(m);
    m.framesIn.inc({ camera: 'a', source: 'camera' }, 8);
    m.framesIn.inc({ camera: 'b', source: 'kafka' }, 4);
    expect(Object.fromEntries(rates(before, await read(m), 'actionclip_frames_in_total', 'camera', 2))).toEqual({ a: 4, b: 2 });
  });

  it('means and quantiles of what a histogram observed between two reads', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.frameToDetection.observe({ kind: 'window' }, 5);
    const before = await read(m);
    for (let i = 0; i < 100; i++) m.frameToDetection.observe({ kind: 'window' }, i < 98 ? 0.04 : 0.9);
    const h = delta(histogram(before, 'actionclip_frame_to_output_latency_seconds', { kind: 'window' }), histogram(await read(m), 'actionclip_frame_to_output_latency_seconds', { kind: 'window' }));
    expect(h.count).toBe(100);
    expect(mean(h)).toBeCloseTo((98 * 0.04 + 2 * 0.9) / 100);
    // 40 ms falls in the (25, 50] ms bucket, 900 ms in (500, 1000]: interpolated as Prometheus does.
    const p50 = quantile(h, 0.5)!;
    expect(p50).toBeGreaterThan(0.025);
    expect(p50).toBeLessThanOrEqual(0.05);
    const p99 = quantile(h, 0.99)!;
    expect(p99).toBeGreaterThan(0.5);
    expect(p99).toBeLessThanOrEqual(1);
    expect(quantile(delta(h, h), 0.5)).toBeNull();
  });
});
