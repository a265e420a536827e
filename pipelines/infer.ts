/**
 * The fleet's infer role (docs/scale-out.md), read top to bottom:
 *
 *   vocabulary topic ─▶ VocabularyFollower ─▶ VocabularyStore (text encoding, versions of the topic)
 *   frames topic (group fleet.inferGroupId) ─▶ decode ─▶ embed ─▶ WindowAssembler ─▶ fuse ─▶ score
 *       ─▶ one transaction per batch: window messages to the detections topic + offset R {emittedBelow: O}
 *
 * `ready` resolves once the vocabulary topic is caught up (the first window is scored with the
 * current version) and the consumer joined its group.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { resolveVocabulary, textCacheOptions } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { VocabularyStore } from '../src/control/vocabulary-store.js';
import type { Engine, EngineInfo } from '../src/engine/engine.js';
import { ConfigError } from '../src/errors.js';
import { startTransactionalWindows, type TransactionalWindows, type TransactionalWindowsOptions } from '../src/fleet/transactional-windows.js';
import { followVocabulary, startVocabularyFollower } from '../src/fleet/vocabulary-follower.js';
import { modelLabel } from '../src/detections/messages.js';
import { Instrumentation } from '../src/instrumentation/instrumentation.js';
import { ResourceStack } from '../src/lifecycle/resource-stack.js';
import { ACTIONCLIP_TEMPLATES } from '../src/model/prompts.js';
import { createLogger } from '../src/observability/logger.js';
import { Metrics } from '../src/observability/metrics.js';
import { observeMetrics } from '../src/observability/metrics-observer.js';
import { connectKafka } from '../src/sources/kafka-client.js';
import { createFleetTopics } from '../src/fleet/create-topics.js';

export interface InferOptions {
  readonly config: Config;
  /** A ready engine (tests); otherwise `loadModel` with the config's weights. */
  readonly engine?: Engine;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly instrumentation?: Instrumentation;
}

export interface InferHandle {
  readonly engine: EngineInfo;
  readonly metrics: Metrics;
  /** Vocabulary caught up and the frames consumer in its group. */
  readonly ready: Promise<void>;
  /** Resolves with the error that stopped the role for good; never otherwise. */
  readonly failed: Promise<Error>;
  /** Windows published (committed) so far. */
  published(): number;
  stop(): Promise<void>;
}

export async function startInfer(opts: InferOptions): Promise<InferHandle> {
  const { config } = opts;
  if (config.kafka === undefined) throw new ConfigError('infer needs Kafka: set kafka.brokers (or --kafka host:port)');
  const { fleet } = config;
  const log = opts.logger ?? createLogger({ level: config.logLevel });
  const metrics = opts.metrics ?? new Metrics();
  const instrumentation = opts.instrumentation ?? new Instrumentation();
  const resources = new ResourceStack(log);
  resources.defer(observeMetrics(instrumentation, metrics), (off) => off());
  let fail!: (err: Error) => void;
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  let closed = false;
  try {
    const kafka = await connectKafka(config.kafka, log);
    await createFleetTopics(kafka, fleet, log, () => closed);
    const { loadModel } = await import('../src/engine/load-model.js');
    const model = opts.engine === undefined ? resources.defer(await loadModel({ weights: config.weights, fusion: config.fusion, head: config.head, frames: config.window, backend: config.backend, engine: config.engine, quantize: config.quantize, textCache: textCacheOptions(config.textCache) }), (m) => m.dispose()) : undefined;
    const engine = opts.engine ?? model!;
    instrumentation.emit('engine.ready', { engine: engine.info.engine, backend: engine.info.backend });
    const follower = resources.defer(startVocabularyFollower({ kafka, topic: fleet.topics.vocabulary, groupIdPrefix: fleet.inferGroupId, instrumentation, logger: log }), (f) => f.stop());
    let windows: TransactionalWindows | undefined;
    const ready = (async () => {
      // The topic's newest version, or the configured vocabulary as version 0 while the topic is empty.
      const latest = await follower.ready;
      if (closed) return;
      const templates = model?.info.templates ?? ACTIONCLIP_TEMPLATES;
      const initial = latest === undefined ? resolveVocabulary(config) : { labels: latest.labels, templates: latest.templates ?? [...templates] };
      const vocabulary = resources.defer(await VocabularyStore.create(engine, initial, { textCache: model?.textCache, templates: model?.info.templates, instrumentation, initialVersion: latest?.version ?? 0 }), (v) => v.dispose());
      resources.defer(followVocabulary(vocabulary, follower, templates, log), (s) => s.unsubscribe());
      let joined!: () => void;
      const inGroup = new Promise<void>((resolve) => (joined = resolve));
      const onFatal = (err: unknown): void => fail(err instanceof Error ? err : new Error(String(err)));
      windows = resources.defer(startTransactionalWindows({ ...windowOptions(config, engine, kafka), vocabulary$: vocabulary.vocabulary$, instrumentation, logger: log, onJoin: joined, onFatal }), (w) => w.stop());
      await inGroup;
      log.info({ vocabularyVersion: vocabulary.current.version, groupId: fleet.inferGroupId, frames: fleet.topics.frames, detections: fleet.topics.detections }, 'infer ready');
    })();
    ready.catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
    const stop = (): Promise<void> => {
      closed = true;
      return resources.close();
    };
    return { engine: engine.info, metrics, ready, failed, published: () => windows?.published() ?? 0, stop };
  } catch (err) {
    await resources.close();
    throw err;
  }
}

/** The consumer's settings from the configuration (topics, group, windows, batching). */
function windowOptions(config: Config, engine: Engine, kafka: Kafka): Omit<TransactionalWindowsOptions, 'vocabulary$'> {
  const { fleet } = config;
  return {
    kafka,
    engine,
    framesTopic: fleet.topics.frames,
    detectionsTopic: fleet.topics.detections,
    deadLetterTopic: config.kafka!.deadLetterTopic,
    groupId: fleet.inferGroupId,
    sessionTimeoutMs: config.kafka!.sessionTimeoutMs,
    window: config.window,
    stride: config.stride,
    cameraIdleMs: fleet.cameraIdleSec * 1000,
    topk: config.topk,
    model: modelLabel(config.weights, engine.info.head),
    maxBatch: config.batching.maxBatch,
    resize: config.decode,
  };
}
