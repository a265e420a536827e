/**
 * The live pipeline, the whole flow in one file:
 *
 *   cameras (ffmpeg, supervised) ─┐
 *   Kafka frames topic ───────────┴▶ frames$ ─▶ embedFrames ─▶ slidingWindows ─▶ fuseWindows
 *       ─▶ scoreWindows(vocabulary$) ─▶ trackEvents ─▶ stamp + serialise once ─▶ sinks
 *                                                                (WebSocket hub, Kafka, JSONL)
 *   control on the side: HTTP API, WebSocket and Kafka control messages change the camera set and
 *   the vocabulary; /metrics reads the counters every stage reports to.
 *
 * `startLive` returns a handle whose `stop()` releases everything: ffmpeg processes, Kafka clients,
 * sockets, the HTTP server, the vocabulary and (when it loaded it) the model.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Subject, Subscription, retry, tap, timer, type SchedulerLike } from 'rxjs';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { resolveVocabulary } from '../config/load.js';
import type { CameraConfig, Config, VocabularyUpdate } from '../config/schema.js';
import { createHttpApi, type CameraInfo, type ControlPlane, type PreviewInfo } from '../src/control/http-api.js';
import { startKafkaControl, type KafkaControl } from '../src/control/kafka-control.js';
import { PreviewRelay } from '../src/control/preview.js';
import { cameraMessage, stampLatency, trackEvents, type DetectionMessage, type Detection } from '../src/detections/index.js';
import type { Engine } from '../src/engine/engine.js';
import { ConfigError } from '../src/errors.js';
import { embedFrames } from '../src/inference/frame-batcher.js';
import { scoreWindows } from '../src/inference/scorer.js';
import { VocabularyStore } from '../src/inference/vocabulary.js';
import { fuseWindows } from '../src/inference/window-fuser.js';
import { createLogger } from '../src/observability/logger.js';
import { Metrics } from '../src/observability/metrics.js';
import type { OutputEvent, Sink } from '../src/sinks/events.js';
import { JsonlSink } from '../src/sinks/jsonl.js';
import { KafkaDetectionsSink } from '../src/sinks/kafka-detections.js';
import { WebSocketHub } from '../src/sinks/websocket-hub.js';
import { cameraFrames, isCameraState } from '../src/sources/camera-source.js';
import { resolveFfmpeg } from '../src/sources/ffmpeg-path.js';
import { createKafka } from '../src/sources/kafka-client.js';
import { kafkaFrames } from '../src/sources/kafka-frames.js';
import { redactUrl } from '../src/sources/redact.js';
import type { CameraState, Frame } from '../src/types.js';
import { slidingWindows } from '../src/windows/sliding-windows.js';

export interface LiveOptions {
  readonly config: Config;
  /** A ready engine (tests, embedding); otherwise `loadModel` with the config's weights. */
  readonly engine?: Engine;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Default: resolveFfmpeg(). */
  readonly ffmpegPath?: string;
  readonly scheduler?: SchedulerLike;
}

export interface LiveHandle {
  /** The HTTP port actually bound (config.port may be 0). */
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  readonly metrics: Metrics;
  readonly control: ControlPlane;
  readonly vocabulary: VocabularyStore;
  /** Resolve once the Kafka consumers joined their groups (undefined without Kafka frames/control). */
  readonly kafkaFramesReady?: Promise<void>;
  readonly kafkaControlReady?: Promise<void>;
  /** The Kafka sink, when configured (tests read its counters). */
  readonly kafkaSink?: KafkaDetectionsSink;
  readonly hub: WebSocketHub;
  stop(): Promise<void>;
}

/** A detection message to the shared output event: serialised once for every sink and client. */
export function toOutputEvent(msg: DetectionMessage): OutputEvent {
  if (msg.type === 'camera') return { kind: 'camera', camera: msg.camera, labels: [], json: JSON.stringify(msg) };
  return {
    kind: msg.type,
    camera: msg.camera,
    labels: msg.type === 'window' ? msg.topk.map((t) => t.label) : [msg.label],
    score: msg.score,
    captureTs: msg.windowEnd,
    json: JSON.stringify(msg),
  };
}

export async function startLive(opts: LiveOptions): Promise<LiveHandle> {
  const { config } = opts;
  const log = opts.logger ?? createLogger({ level: config.logLevel });
  const metrics = opts.metrics ?? new Metrics();
  const cleanups: Array<() => unknown> = [];
  const stopAll = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        log.warn({ err }, 'error while stopping');
      }
    }
  };

  // ---- state the control plane reads and changes ------------------------------------------------
  let engine: Engine | undefined = opts.engine;
  let store: VocabularyStore | undefined;
  const cameras = new Map<string, { config: CameraConfig; sub: Subscription; state?: CameraState }>();
  const frames$ = new Subject<Frame>();
  const states$ = new Subject<CameraState>();
  const preview = config.preview.enabled ? new PreviewRelay({ basePort: config.preview.basePort, ffmpegPath: opts.ffmpegPath, logger: log }) : undefined;
  if (preview !== undefined) cleanups.push(() => preview.stopAll());

  const updateVocabulary = async (u: VocabularyUpdate): Promise<number> => {
    if (store === undefined) throw new ConfigError('the model is still loading: try again when /ready says so');
    const v = await store.update(u);
    metrics.vocabularyVersion.set(v.version);
    log.info({ version: v.version, labels: v.labels.length }, 'vocabulary changed');
    return v.version;
  };

  const info = (id: string): CameraInfo => {
    const c = cameras.get(id)!;
    return { id, url: redactUrl(c.config.url), ...(c.state === undefined ? {} : { state: c.state }) };
  };

  const control: ControlPlane = {
    readiness: () => ({ model: engine !== undefined, vocabulary: store !== undefined }),
    cameras: () => [...cameras.keys()].map(info),
    addCamera: (camera) => {
      if (cameras.has(camera.id)) throw new ConfigError(`camera "${camera.id}" already exists`);
      const sub = new Subscription();
      cameras.set(camera.id, { config: camera, sub });
      sub.add(
        cameraFrames(camera, {
          fps: config.fps,
          width: config.decode.width,
          height: config.decode.height,
          ffmpegPath: opts.ffmpegPath ?? resolveFfmpeg().path,
          supervision: config.supervision,
          scheduler: opts.scheduler,
          logger: log,
        }).subscribe({
          next: (ev) => {
            if (isCameraState(ev)) states$.next(ev);
            else {
              metrics.framesIn.inc({ camera: ev.camera, source: 'camera' });
              frames$.next(ev);
            }
          },
          error: (err: unknown) => log.error({ err, camera: camera.id }, 'camera source failed'),
        }),
      );
      preview?.start(camera);
      log.info({ camera: camera.id, url: redactUrl(camera.url) }, 'camera added');
      return info(camera.id);
    },
    removeCamera: (id) => {
      const c = cameras.get(id);
      if (c === undefined) return false;
      c.sub.unsubscribe(); // kills ffmpeg
      preview?.stop(id);
      // Downstream stages drop the camera's buffers and end its events on `stopped`.
      states$.next({ camera: id, status: 'stopped', since: Date.now(), attempt: 0, reason: 'removed' });
      cameras.delete(id);
      metrics.forgetCamera(id);
      log.info({ camera: id }, 'camera removed');
      return true;
    },
    vocabulary: () => (store === undefined ? undefined : { version: store.current.version, labels: store.current.labels, templates: store.current.templates }),
    updateVocabulary,
    ...(preview === undefined ? {} : { preview: (id: string): PreviewInfo | undefined => preview.info(id) }),
  };

  states$.subscribe((s) => {
    const c = cameras.get(s.camera);
    if (c !== undefined) c.state = s;
    if (c !== undefined || s.status !== 'stopped') metrics.setCameraState(s.camera, s.status);
    if (s.status === 'reconnecting' || s.status === 'stalled') metrics.cameraRestarts.inc({ camera: s.camera }, s.status === 'stalled' ? 0 : 1);
  });

  try {
    // ---- HTTP first, so /health answers and /ready says "no" while the model loads ---------------
    const server = createHttpApi({ control, metrics, logger: log });
    const hub = new WebSocketHub({
      server,
      maxQueue: config.websocket.maxQueue,
      maxBufferedBytes: config.websocket.maxBufferedBytes,
      heartbeatMs: config.websocket.heartbeatMs,
      onVocabulary: updateVocabulary,
      // New subscribers first learn each camera's current state.
      greeting: () =>
        [...cameras.values()].flatMap((c) => (c.state === undefined ? [] : [toOutputEvent(stampLatency<DetectionMessage>(cameraMessage(c.state), Date.now()))])),
      metrics,
      logger: log,
    });
    cleanups.push(async () => {
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    log.info({ port }, 'HTTP API, /metrics and /ws listening');

    // ---- model and vocabulary ---------------------------------------------------------------------
    if (engine === undefined) {
      const { loadModel } = await import('../src/engine/load-model.js');
      const model = await loadModel({ weights: config.weights, fusion: config.fusion, head: config.head, frames: config.window, backend: config.backend, engine: config.engine });
      engine = model;
      cleanups.push(() => model.dispose());
    }
    const eng = engine;
    metrics.backend.set({ engine: eng.info.engine, backend: eng.info.backend }, 1);
    const vocabStore = await VocabularyStore.create(eng, resolveVocabulary(config));
    store = vocabStore;
    cleanups.push(() => vocabStore.dispose());
    metrics.vocabularyVersion.set(vocabStore.current.version);
    const modelName = `${path.basename(config.weights).replace(/\.[^.]+$/, '')}+${eng.info.head}`;

    // ---- sinks ------------------------------------------------------------------------------------
    const sinks: Sink[] = [hub];
    let kafka: Kafka | undefined;
    let kafkaSink: KafkaDetectionsSink | undefined;
    if (config.kafka !== undefined) kafka = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, logger: log });
    if (kafka !== undefined && config.kafka?.detectionsTopic !== undefined) {
      const ks = new KafkaDetectionsSink({ kafka, topic: config.kafka.detectionsTopic, bufferSize: config.kafka.producerBufferSize, metrics, logger: log });
      kafkaSink = ks;
      sinks.push(ks);
      cleanups.push(() => ks.close());
    }
    if (config.jsonl !== undefined) {
      const js = new JsonlSink({ path: config.jsonl, metrics, logger: log });
      sinks.push(js);
      cleanups.push(() => js.close());
    }
    const publish = (d: Detection): void => {
      const msg: DetectionMessage = stampLatency<DetectionMessage>(d, Date.now());
      if (msg.type !== 'camera') metrics.frameToDetection.observe({ kind: msg.type }, msg.latencyMs);
      if (msg.type !== 'window' && msg.type !== 'camera') metrics.detections.inc({ kind: msg.type });
      const ev = toOutputEvent(msg);
      for (const s of sinks) s.publish(ev);
    };

    // ---- the flow ---------------------------------------------------------------------------------
    const pipeline = frames$
      .pipe(
        embedFrames(eng, {
          maxBatch: config.batching.maxBatch,
          maxWaitMs: config.batching.maxWaitMs,
          queueCapacity: config.batching.queueCapacity,
          scheduler: opts.scheduler,
          stats: metrics.batchStats('encoder'),
          cameraStates: states$,
        }),
        slidingWindows({ window: config.window, stride: config.stride, cameraStates: states$ }),
        fuseWindows(eng, { window: config.window, maxBatch: config.batching.maxBatch, scheduler: opts.scheduler, stats: metrics.batchStats('fusion') }),
        scoreWindows(vocabStore.vocabulary$, { topk: config.topk }),
        tap((r) => metrics.windows.inc({ camera: r.camera })),
        trackEvents({
          model: modelName,
          enterThreshold: config.tracker.enterThreshold,
          exitThreshold: config.tracker.exitThreshold,
          minWindows: config.tracker.minWindows,
          cooldownWindows: config.tracker.cooldownWindows,
          updateEvery: config.tracker.updateEvery,
          emitWindows: true,
          emitCameraStates: true,
          cameraStates: states$,
          vocabulary$: vocabStore.vocabulary$,
        }),
        // An engine failure must not end the service: log, wait, and carry on with new frames.
        retry({
          delay: (err: unknown, n: number) => {
            log.error({ err, attempt: n }, 'pipeline failed; restarting it');
            return timer(Math.min(10_000, 500 * n));
          },
          resetOnSuccess: true,
        }),
      )
      .subscribe({ next: publish, error: (err: unknown) => log.fatal({ err }, 'pipeline stopped') });
    // Stop sources first (no new frames), then the flow; sinks and server close after (reverse order).
    cleanups.push(() => pipeline.unsubscribe());

    // ---- sources ----------------------------------------------------------------------------------
    let kafkaFramesReady: Promise<void> | undefined;
    if (kafka !== undefined && config.kafka?.framesTopic !== undefined) {
      let ready!: () => void;
      kafkaFramesReady = new Promise<void>((r) => (ready = r));
      const sub = kafkaFrames({
        kafka,
        topic: config.kafka.framesTopic,
        groupId: config.kafka.groupId,
        deadLetterTopic: config.kafka.deadLetterTopic,
        resize: config.decode,
        metrics,
        logger: log,
        onReady: ready,
      }).subscribe({ next: (f) => frames$.next(f), error: (err: unknown) => log.error({ err }, 'Kafka frame source failed') });
      cleanups.push(() => sub.unsubscribe());
    }
    let kafkaControl: KafkaControl | undefined;
    if (kafka !== undefined && config.kafka?.controlTopic !== undefined) {
      const kc = startKafkaControl({ kafka, topic: config.kafka.controlTopic, groupIdPrefix: config.kafka.groupId, onVocabulary: updateVocabulary, logger: log });
      kafkaControl = kc;
      cleanups.push(() => kc.stop());
    }
    cleanups.push(() => {
      for (const id of [...cameras.keys()]) control.removeCamera(id);
    });
    for (const cam of config.cameras) control.addCamera(cam);

    let stopped: Promise<void> | undefined;
    return {
      port,
      url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
      metrics,
      control,
      vocabulary: vocabStore,
      hub,
      ...(kafkaSink === undefined ? {} : { kafkaSink }),
      ...(kafkaFramesReady === undefined ? {} : { kafkaFramesReady }),
      ...(kafkaControl === undefined ? {} : { kafkaControlReady: kafkaControl.ready }),
      stop: () => (stopped ??= stopAll().then(() => log.info('live pipeline stopped'))),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
