// /metrics as Prometheus reads it: every series fed once through the observer, the text parsed by
// Python prometheus_client's parser (not ours), names checked against Prometheus conventions (base
// units, `_total` counters) and the process metrics (RSS, heap, fds, event-loop lag) present.
import { describe, expect, it } from 'vitest';
import { Instrumentation } from '../../src/instrumentation/instrumentation.js';
import { Metrics } from '../../src/observability/metrics.js';
import { observeMetrics } from '../../src/observability/metrics-observer.js';
import { parseExposition } from '../support/prom-parse.js';

function feedEverySeries(i: Instrumentation): void {
  i.emit('source.frame', { camera: 'door', source: 'camera', captureTs: 1 });
  i.emit('source.malformed', { reason: 'bad_png' });
  i.emit('camera.state', { camera: 'door', status: 'reconnecting', since: 0, attempt: 1, reason: 'exit code 1' });
  i.emit('queue.dropped', { stage: 'frames', camera: 'door', count: 2 });
  i.emit('queue.depth', { stage: 'frames', camera: 'door', depth: 3 });
  i.emit('engine.batch', { stage: 'encoder', size: 4, latencyMs: 250 });
  i.emit('window.scored', { camera: 'door' });
  i.emit('output.published', { kind: 'window', latencyMs: 1500 });
  i.emit('output.published', { kind: 'start', latencyMs: 20 });
  i.emit('sink.delivered', { sink: 'kafka', count: 5 });
  i.emit('sink.dropped', { sink: 'kafka', reason: 'buffer_full', count: 1 });
  i.emit('sink.buffered', { sink: 'kafka', depth: 7, limit: 100 });
  i.emit('websocket.clients', { count: 2 });
  i.emit('vocabulary.changed', { version: 3, labels: 5 });
  i.emit('vocabulary.pending', { pending: 1 });
  i.emit('vocabulary.superseded', { count: 4 });
  i.emit('text_cache.stats', { hits: 3, misses: 2, evicted: 1, maxBytes: 256 * 2 ** 20 });
  i.emit('text_cache.stats', { hits: 5, misses: 2, evicted: 1, maxBytes: 256 * 2 ** 20 });
  i.emit('engine.ready', { engine: 'tfjs', backend: 'wasm' });
  i.emit('kafka.connection', { component: 'kafka-detections', status: 'connected' });
}

describe('/metrics exposition', () => {
  it('parses with prometheus_client and follows the naming conventions', async () => {
    const metrics = new Metrics();
    const instrumentation = new Instrumentation();
    const off = observeMetrics(instrumentation, metrics);
    feedEverySeries(instrumentation);
    const text = await metrics.text();
    off();

    const families = await parseExposition(text);
    const byName = new Map(families.map((f) => [f.name, f]));
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1]!, type: m[2]! }));
    expect(types.length).toBe(families.length);

    // Ours; prom-client's defaults name three gauges nodejs_active_*_total, which is theirs to fix.
    const wrong = types.filter((t) => t.name.startsWith('actionclip_')).flatMap(({ name, type }) => {
      const why: string[] = [];
      if (type === 'counter' && !name.endsWith('_total')) why.push('counter without _total');
      if (type !== 'counter' && name.endsWith('_total')) why.push(`${type} named _total`);
      if (/_(ms|milliseconds|kb|mb|mib|minutes|hours)(_|$)/.test(name)) why.push('not a base unit');
      if (/latency|lag|duration/.test(name) && !/_seconds(_total)?$/.test(name)) why.push('a time not in _seconds');
      if (/memory|heap_size|_size_bytes/.test(name) && !/_bytes(_total)?$/.test(name) && !name.includes('_spaces')) why.push('a size not in _bytes');
      return why.map((w) => `${name} (${type}): ${w}`);
    });
    expect(wrong).toEqual([]);
    expect(types.filter((t) => t.name.startsWith('actionclip_')).length).toBeGreaterThan(20);

    // Process metrics from prom-client's defaults, on the service's own registry.
    for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'process_open_fds', 'process_max_fds', 'actionclip_ffmpeg_processes']) {
      expect(byName.has(name), name).toBe(true);
    }
    // Observations arrive converted: 250 ms is 0.25 s.
    const engine = byName.get('actionclip_engine_latency_seconds')!;
    expect(engine.type).toBe('histogram');
    expect(engine.samples.find((s) => s.name === 'actionclip_engine_latency_seconds_sum')?.value).toBeCloseTo(0.25);
    const output = byName.get('actionclip_frame_to_output_latency_seconds')!;
    expect(output.samples.find((s) => s.name.endsWith('_sum') && s.labels.kind === 'window')?.value).toBeCloseTo(1.5);
    expect(byName.get('actionclip_vocabulary_updates_superseded')?.samples[0]?.value).toBe(4);
    // Running totals from the cache become counter increases.
    expect(byName.get('actionclip_text_cache_lookups')?.samples.find((s) => s.labels.result === 'hit')?.value).toBe(5);
    expect(byName.get('actionclip_text_cache_evictions')?.samples[0]?.value).toBe(1);
  });

  it('rejects what is not the text format (the parser is a real check)', async () => {
    await expect(parseExposition('# TYPE x counter\nx{a="1" 2\n')).rejects.toThrow(/could not parse/);
  });
});
