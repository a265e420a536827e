/**
 * Instrumentation apart from logic, as kafkajs does it (`consumer.on(consumer.events.FETCH, …)`):
 * sources, stages and sinks emit typed events on an `Instrumentation` they were given; observers in
 * `src/observability/` turn them into Prometheus metrics and logs. A component never imports the
 * metrics registry, so it is testable without Prometheus and a new observer needs no change in it.
 */
import { EventEmitter } from 'node:events';
import type { CameraState } from '../types.js';

/** Every event and its payload. Payloads are plain objects; emitting is synchronous and cheap. */
export interface InstrumentationEvents {
  /** A source delivered a frame (`captureTs`: its capture time, epoch ms). */
  'source.frame': { readonly camera: string; readonly source: 'camera' | 'kafka'; readonly captureTs: number };
  /** A source rejected one input record (sent to the dead-letter topic where there is one). */
  'source.malformed': { readonly reason: string };
  /** A camera's supervision state changed. */
  'camera.state': CameraState;
  /** A camera left the service: its per-camera series should go. */
  'camera.removed': { readonly camera: string };
  /** A bounded queue dropped `count` items of a camera (drop-oldest). */
  'queue.dropped': { readonly stage: QueueStage; readonly camera: string; readonly count: number };
  /** A bounded queue's depth for a camera changed. */
  'queue.depth': { readonly stage: QueueStage; readonly camera: string; readonly depth: number };
  /** One engine call finished. */
  'engine.batch': { readonly stage: EngineStage; readonly size: number; readonly latencyMs: number };
  /** A window was scored. */
  'window.scored': { readonly camera: string };
  /** A pipeline output left for the sinks; `latencyMs` from the capture of its newest frame. */
  'output.published': { readonly kind: 'window' | 'start' | 'update' | 'end' | 'camera'; readonly latencyMs?: number };
  /** A sink delivered `count` messages. */
  'sink.delivered': { readonly sink: SinkName; readonly count: number };
  /** A sink dropped `count` messages rather than buffer without bound. */
  'sink.dropped': { readonly sink: SinkName; readonly reason: string; readonly count: number };
  /** Messages waiting in a sink's buffer. */
  'sink.buffered': { readonly sink: SinkName; readonly depth: number; readonly limit?: number };
  /** Connected WebSocket subscribers. */
  'websocket.clients': { readonly count: number };
  /** A new vocabulary version is active. */
  'vocabulary.changed': { readonly version: number; readonly labels: number };
  /** Vocabulary updates waiting behind the one being encoded (0 or 1). */
  'vocabulary.pending': { readonly pending: number };
  /** A waiting vocabulary update was replaced by a newer one before it ran. */
  'vocabulary.superseded': { readonly count: number };
  /** The text-embedding cache's counts since it was opened (cumulative) and its bound. */
  'text_cache.stats': { readonly hits: number; readonly misses: number; readonly evicted: number; readonly maxBytes: number };
  /** The engine the pipeline runs on. */
  'engine.ready': { readonly engine: string; readonly backend: string };
  /** A Kafka client of the service changed connection state; `error` (redacted) says why it is not connected. */
  'kafka.connection': { readonly component: KafkaComponent; readonly status: ConnectionStatus; readonly error?: string };
  /** A retriable fault that is being retried; `reason` is a short fixed word (a metric label). */
  'fault.retried': { readonly component: string; readonly reason: string };
  /** A sink could not write (`code`: ENOSPC, EIO…); the message is lost, the other sinks go on. */
  'sink.error': { readonly sink: SinkName; readonly code: string };
  /** A fleet record that failed its schema (src/fleet/records.ts) was skipped; `topic` is the role's name for it (vocabulary…). */
  'fleet.invalid_record': { readonly topic: string };
}

/**
 * The service's Kafka clients: frames consumer, control consumer, detections producer; in a fleet's
 * ingest process, the cameras consumer and the frames and camera-states producers; in a fleet's
 * gateway, the readers of the cameras, camera-states and vocabulary topics and of the detections
 * (`kafka-detections`), and the writer of cameras and vocabulary (`kafka-control`); in an infer
 * process, its transactional frames consumer (`kafka-infer`).
 */
export type KafkaComponent = 'kafka-frames' | 'kafka-control' | 'kafka-detections' | 'kafka-cameras' | 'kafka-frames-out' | 'kafka-states' | 'kafka-vocabulary' | 'kafka-infer';
/** `connected`: a consumer joined its group, a producer's broker answered. */
export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

/** `publish`: an ingest process's per-camera buffer of frames for the broker (drops the newest, before numbering). */
export type QueueStage = 'frames' | 'windows' | 'publish';
export type EngineStage = 'encoder' | 'fusion';
export type SinkName = 'websocket' | 'kafka' | 'jsonl';
export type InstrumentationEvent = keyof InstrumentationEvents;
export type Listener<E extends InstrumentationEvent> = (payload: InstrumentationEvents[E]) => void;

export class Instrumentation {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Observers are few and fixed (metrics, logs, tests); no leak warning for them.
    this.emitter.setMaxListeners(0);
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<E extends InstrumentationEvent>(event: E, listener: Listener<E>): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  emit<E extends InstrumentationEvent>(event: E, payload: InstrumentationEvents[E]): void {
    // A throwing observer must not break the component that reported.
    for (const l of this.emitter.listeners(event)) {
      try {
        (l as Listener<E>)(payload);
      } catch {
        // Observers are responsible for their own errors.
      }
    }
  }
}
