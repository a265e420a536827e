import type { SchedulerLike } from 'rxjs';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Engine, EngineInfo } from '../engine/engine.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import type { Metrics } from '../observability/metrics.js';
import type { KafkaDetectionsSink } from '../sinks/kafka-detections.js';
import type { WebSocketHub } from '../sinks/websocket-hub.js';
import type { LiveControlPlane } from './control-plane.js';
import type { VocabularyStore } from './vocabulary-store.js';

/** What starting a live pipeline takes and what a running one offers (`pipelines/live.ts`). */
export interface LiveOptions {
  readonly config: Config;
  /** A ready engine (tests, embedding); otherwise `loadModel` with the config's weights. */
  readonly engine?: Engine;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Observe the pipeline's events from outside (the soak benchmark counts frames and windows). */
  readonly instrumentation?: Instrumentation;
  /** Default: resolveFfmpeg(). */
  readonly ffmpegPath?: string;
  readonly scheduler?: SchedulerLike;
}

export interface LiveHandle {
  /** The HTTP port actually bound (config.port may be 0), and `http://host:port` (`https://` with TLS). */
  readonly port: number;
  readonly url: string;
  /** What the pipeline runs on (engine, backend, head, T). */
  readonly engine: EngineInfo;
  readonly metrics: Metrics;
  readonly control: LiveControlPlane;
  readonly vocabulary: VocabularyStore;
  readonly hub: WebSocketHub;
  /** Resolve once the Kafka consumers joined their groups (undefined without Kafka frames/control). */
  readonly kafkaFramesReady?: Promise<void>;
  readonly kafkaControlReady?: Promise<void>;
  readonly kafkaSink?: KafkaDetectionsSink;
  /** Resolves with the error that stopped the pipeline for good (a fatal one); never otherwise. */
  readonly failed: Promise<Error>;
  stop(): Promise<void>;
}
