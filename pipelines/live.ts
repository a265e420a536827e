/**
 * The live pipeline, read top to bottom as a frame moves:
 *
 *   cameras (supervised sources) ─┐
 *   Kafka frames topic ───────────┴▶ frames$ ─▶ embedFrames ─▶ slidingWindows ─▶ fuseWindows
 *       ─▶ scoreWindows(vocabulary$) ─▶ trackEvents ─▶ fanOut ─▶ WebSocket hub, Kafka, JSONL
 *
 * Control on the side (`src/control`): the HTTP API, WebSocket and Kafka control messages call one
 * control plane that changes the camera set and the vocabulary. Every part reports to one
 * Instrumentation; `/metrics` observes it. `stop()` drains gracefully (src/lifecycle/graceful-stop.ts).
 */
import { Subject, tap } from 'rxjs';
import { resolveVocabulary, textCacheOptions } from '../config/load.js';
import { CameraRegistry } from '../src/control/camera-registry.js';
import { LiveControlPlane } from '../src/control/control-plane.js';
import { LiveView } from '../src/control/live-view.js';
import { startApiServer } from '../src/control/api-server.js';
import { startKafkaControl } from '../src/control/kafka-control.js';
import { PreviewRelay } from '../src/control/preview.js';
import { trackEvents } from '../src/stages/track-events.js';
import { embedFrames } from '../src/stages/embed-frames.js';
import { scoreWindows } from '../src/stages/score-windows.js';
import { VocabularyStore } from '../src/control/vocabulary-store.js';
import { fuseWindows } from '../src/stages/fuse-windows.js';
import { modelLabel } from '../src/detections/messages.js';
import { Instrumentation } from '../src/instrumentation/instrumentation.js';
import { batchHooks } from '../src/instrumentation/stats.js';
import { ResourceStack } from '../src/lifecycle/resource-stack.js';
import { gracefulStopper, retried } from '../src/lifecycle/graceful-stop.js';
import type { LiveHandle, LiveOptions } from '../src/control/live-handle.js';
import { createLogger } from '../src/observability/logger.js';
import { Metrics } from '../src/observability/metrics.js';
import { observeMetrics } from '../src/observability/metrics-observer.js';
import { createSinks } from '../src/sinks/create-sinks.js';
import { cameraStateEvent } from '../src/sinks/fan-out.js';
import { cameraFrames } from '../src/sources/camera-source.js';
import { resolveFfmpeg } from '../src/sources/ffmpeg-path.js';
import { connectKafka } from '../src/sources/kafka-client.js';
import { startKafkaFrames, type KafkaFrameIntake } from '../src/sources/kafka-frames.js';
import { CameraStates } from '../src/stages/camera-states.js';
import { oncePerCameraState } from '../src/stages/once-per-camera-state.js';
import { retryRetriable } from '../src/stages/retry-retriable.js';
import type { Frame } from '../src/types.js';
import { slidingWindows } from '../src/stages/sliding-windows.js';

export type { LiveHandle, LiveOptions };

export async function startLive(opts: LiveOptions): Promise<LiveHandle> {
  const { config, scheduler } = opts;
  const log = opts.logger ?? createLogger({ level: config.logLevel });
  const metrics = opts.metrics ?? new Metrics();
  const instrumentation = opts.instrumentation ?? new Instrumentation();
  const resources = new ResourceStack(log);
  resources.defer(observeMetrics(instrumentation, metrics), (off) => off());
  try {
    // Kafka logs in first (wrong credentials stop the start at once); then the control plane: cameras, vocabulary.
    const kafka = config.kafka === undefined ? undefined : await connectKafka(config.kafka, log);
    const frames$ = new Subject<Frame>();
    const states = new CameraStates(), states$ = states.states$;
    const preview = config.preview.enabled ? resources.defer(new PreviewRelay({ basePort: config.preview.basePort, ffmpegPath: opts.ffmpegPath, logger: log }), (p) => p.stopAll()) : undefined;
    const ffmpegPath = opts.ffmpegPath ?? resolveFfmpeg().path;
    const cameraOptions = { fps: config.fps, width: config.decode.width, height: config.decode.height, tuning: config.decode, ffmpegPath, supervision: config.supervision, scheduler, logger: log };
    const view = new LiveView({ ...config.dashboardHistory, topk: config.topk }); // the dashboard's snapshots, draft scoring, history
    const cameras = new CameraRegistry({ open: (c) => cameraFrames(c, cameraOptions), frames: frames$, states, onAdded: (c) => preview?.start(c), onRemoved: (id) => (preview?.stop(id), view.forget(id)), instrumentation, logger: log });
    const control = new LiveControlPlane({ cameras, preview, view, urlPolicy: config.security.cameraUrls, maxCameras: config.security.limits.maxCameras, instrumentation, logger: log });

    // HTTP first, so /health answers and /ready says "no" while the model loads.
    const greeting = () => cameras.states().map((s) => cameraStateEvent(s));
    const api = await startApiServer({ config, control, metrics, greeting, instrumentation, logger: log });
    resources.defer(api, (a) => a.close());
    const { hub, port } = api;

    // Model and vocabulary.
    const { loadModel } = await import('../src/engine/load-model.js');
    const load = () => loadModel({ weights: config.weights, fusion: config.fusion, head: config.head, frames: config.window, backend: config.backend, engine: config.engine, quantize: config.quantize, textCache: textCacheOptions(config.textCache) });
    const model = opts.engine === undefined ? resources.defer(await load(), (m) => m.dispose()) : undefined;
    const engine = opts.engine ?? model!;
    instrumentation.emit('engine.ready', { engine: engine.info.engine, backend: engine.info.backend });
    const vocabulary = resources.defer(await VocabularyStore.create(engine, resolveVocabulary(config), { textCache: model?.textCache, templates: model?.info.templates, instrumentation }), (v) => v.dispose());
    control.attach(vocabulary);

    // Sinks. Kafka frame offsets are committed once their windows are delivered (at-least-once).
    let framesIn: KafkaFrameIntake | undefined;
    const { publish, kafka: kafkaSink } = createSinks(config, { hub, local: [view], kafka, resources, instrumentation, logger: log, onWindowDelivered: (c, t) => framesIn?.delivered(c, t) });
    // The flow.
    let drained!: () => void;
    const done = new Promise<void>((resolve) => (drained = resolve));
    const pipeline = frames$
      .pipe(tap((f) => view.keepFrame(f))) // (a second pipe: pipe() is typed for at most nine stages)
      .pipe(
        embedFrames(engine, { ...config.batching, scheduler, stats: batchHooks(instrumentation, 'encoder'), cameraStates: states$ }),
        slidingWindows({ window: config.window, stride: config.stride, cameraStates: states$ }),
        fuseWindows(engine, { window: config.window, maxBatch: config.batching.maxBatch, scheduler, stats: batchHooks(instrumentation, 'fusion') }),
        tap((v) => view.keepWindow(v)),
        scoreWindows(vocabulary.vocabulary$, { topk: config.topk }),
        tap((r) => instrumentation.emit('window.scored', { camera: r.camera })),
        trackEvents({ ...config.tracker, model: modelLabel(config.weights, engine.info.head), emitWindows: true, emitCameraStates: true, cameraStates: states$, vocabulary$: vocabulary.vocabulary$ }),
        retryRetriable({ scheduler, onRetry: (err, attempt) => retried(instrumentation, log, err, attempt) }),
        oncePerCameraState(),
      )
      .subscribe({ next: publish, error: (err: Error) => (control.fail(err), drained()), complete: () => drained() });
    resources.defer(pipeline, (p) => p.unsubscribe());
    // Sources last: frames only flow once everything downstream is listening.
    const kafkaIn = kafka === undefined ? undefined : config.kafka;
    framesIn = kafkaIn?.framesTopic === undefined ? undefined : resources.defer(startKafkaFrames({ kafka: kafka!, topic: kafkaIn.framesTopic, groupId: kafkaIn.groupId, sessionTimeoutMs: kafkaIn.sessionTimeoutMs, deadLetterTopic: kafkaIn.deadLetterTopic, resize: config.decode, frames: frames$, instrumentation, logger: log }), (k) => k.stop());
    const controlIn = kafkaIn?.controlTopic === undefined ? undefined : resources.defer(startKafkaControl({ kafka: kafka!, topic: kafkaIn.controlTopic, groupIdPrefix: kafkaIn.groupId, onVocabulary: (u) => control.updateVocabulary(u), instrumentation, logger: log }), (k) => k.stop());
    resources.defer(cameras, (c) => c.close());
    for (const cam of config.cameras) cameras.add(cam);

    // Stopping drains the windows in flight first (the order: src/lifecycle/graceful-stop.ts).
    const flush = async (): Promise<void> => { await kafkaSink?.flush(); await framesIn?.stop(); };
    const stop = gracefulStopper({ refuse: () => control.beginShutdown(), stopSources: () => (cameras.halt(), framesIn?.pause()), drain: () => (frames$.complete(), done), flush, release: () => resources.close() }, { drainTimeoutMs: config.shutdown.timeoutSec * 1000, logger: log });
    return { port, url: api.url, engine: engine.info, metrics, control, vocabulary, hub, kafkaSink, kafkaFramesReady: framesIn?.ready, kafkaControlReady: controlIn?.ready, failed: control.failed, stop };
  } catch (err) {
    await resources.close();
    throw err;
  }
}
