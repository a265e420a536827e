import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Instrumentation } from '../../src/instrumentation/instrumentation.js';
import { Metrics } from '../../src/observability/metrics.js';
import { observeMetrics } from '../../src/observability/metrics-observer.js';
import { JsonlSink } from '../../src/sinks/jsonl.js';

describe('JsonlSink', () => {
  it('appends one JSON object per line and counts them', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'jsonl-')), 'out.jsonl');
    const metrics = new Metrics({ defaultMetrics: false });
    const instrumentation = new Instrumentation();
    observeMetrics(instrumentation, metrics);
    const sink = new JsonlSink({ path: file, instrumentation });
    sink.publish({ kind: 'window', camera: 'a', labels: ['x'], score: 0.5, json: '{"type":"window","camera":"a"}' });
    sink.publish({ kind: 'camera', camera: 'a', labels: [], json: '{"type":"camera","camera":"a"}' });
    await sink.close();
    sink.publish({ kind: 'camera', camera: 'a', labels: [], json: '{"late":true}' }); // after close: ignored
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((l) => l.type)).toEqual(['window', 'camera']);
    expect(await metrics.text()).toContain('actionclip_sink_messages_total{sink="jsonl"} 2');
  });
});
