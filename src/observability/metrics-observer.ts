import type { Instrumentation } from '../instrumentation/instrumentation.js';
import type { Metrics } from './metrics.js';

/**
 * Turns instrumentation events into the Prometheus series of `metrics`. Returns the function that
 * stops observing. The only place that knows which event feeds which series.
 */
export function observeMetrics(instrumentation: Instrumentation, metrics: Metrics): () => void {
  // The cache reports running totals; counters take the increase since the last report.
  const cache = { hits: 0, misses: 0, evicted: 0 };
  const offs = [
    instrumentation.on('text_cache.stats', (e) => {
      metrics.textCacheLookups.inc({ result: 'hit' }, Math.max(0, e.hits - cache.hits));
      metrics.textCacheLookups.inc({ result: 'miss' }, Math.max(0, e.misses - cache.misses));
      metrics.textCacheEvictions.inc(Math.max(0, e.evicted - cache.evicted));
      metrics.textCacheLimit.set(e.maxBytes);
      Object.assign(cache, { hits: e.hits, misses: e.misses, evicted: e.evicted });
    }),
    instrumentation.on('source.frame', (e) => metrics.framesIn.inc({ camera: e.camera, source: e.source })),
    instrumentation.on('source.malformed', (e) => metrics.malformedFrames.inc({ reason: e.reason })),
    instrumentation.on('fleet.invalid_record', (e) => metrics.fleetInvalidRecords.inc({ topic: e.topic })),
    instrumentation.on('camera.state', (s) => {
      metrics.setCameraState(s.camera, s.status);
      // A stall is followed by its reconnect: count the restart once, on the reconnect (a stall
      // only makes sure the series exists).
      const restart = s.status === 'reconnecting' || s.status === 'failed';
      if (restart || s.status === 'stalled') metrics.cameraRestarts.inc({ camera: s.camera }, restart ? 1 : 0);
      if (restart) metrics.faultsRetried.inc({ component: 'camera', reason: cameraRetryReason(s.reason) });
    }),
    instrumentation.on('camera.removed', (e) => metrics.forgetCamera(e.camera)),
    instrumentation.on('queue.dropped', (e) => metrics.framesDropped.inc({ camera: e.camera, stage: e.stage }, e.count)),
    instrumentation.on('queue.depth', (e) => metrics.queueDepth.set({ camera: e.camera, stage: e.stage }, e.depth)),
    instrumentation.on('engine.batch', (e) => {
      metrics.batchSize.observe({ stage: e.stage }, e.size);
      metrics.engineLatency.observe({ stage: e.stage }, e.latencyMs / 1000);
    }),
    instrumentation.on('window.scored', (e) => metrics.windows.inc({ camera: e.camera })),
    instrumentation.on('output.published', (e) => {
      if (e.kind !== 'camera' && e.latencyMs !== undefined) metrics.frameToDetection.observe({ kind: e.kind }, e.latencyMs / 1000);
      if (e.kind === 'start' || e.kind === 'update' || e.kind === 'end') metrics.detections.inc({ kind: e.kind });
    }),
    instrumentation.on('sink.delivered', (e) => metrics.sinkMessages.inc({ sink: e.sink }, e.count)),
    instrumentation.on('sink.dropped', (e) => metrics.sinkDropped.inc({ sink: e.sink, reason: e.reason }, e.count)),
    instrumentation.on('sink.buffered', (e) => metrics.sinkBuffered.set({ sink: e.sink }, e.depth)),
    instrumentation.on('websocket.clients', (e) => metrics.wsClients.set(e.count)),
    instrumentation.on('vocabulary.changed', (e) => metrics.vocabularyVersion.set(e.version)),
    instrumentation.on('vocabulary.pending', (e) => metrics.vocabularyPending.set(e.pending)),
    instrumentation.on('vocabulary.superseded', (e) => metrics.vocabularySuperseded.inc(e.count)),
    instrumentation.on('engine.ready', (e) => metrics.backend.set({ engine: e.engine, backend: e.backend }, 1)),
    instrumentation.on('kafka.connection', (e) => metrics.kafkaConnected.set({ component: e.component }, e.status === 'connected' ? 1 : 0)),
    instrumentation.on('fault.retried', (e) => metrics.faultsRetried.inc({ component: e.component, reason: e.reason })),
    instrumentation.on('sink.error', (e) => metrics.sinkErrors.inc({ sink: e.sink, code: e.code })),
  ];
  return () => {
    for (const off of offs) off();
  };
}

/** A camera's free-text reconnect reason as one of a few label values (labels must stay few). */
function cameraRetryReason(reason: string | undefined): string {
  if (reason === undefined) return 'unknown';
  if (reason.startsWith('stalled')) return 'stall';
  if (reason.startsWith('no first frame')) return 'connect_timeout';
  return 'source_error';
}
