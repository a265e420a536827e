import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import type { ResourceStack } from '../lifecycle/resource-stack.js';
import type { Detection } from '../detections/schema.js';
import type { OutputEvent, Sink } from './events.js';
import { fanOut } from './fan-out.js';
import { JsonlSink } from './jsonl.js';
import { KafkaDetectionsSink } from './kafka-detections.js';

export interface ConfiguredSinks {
  readonly sinks: Sink[];
  /** The Kafka sink, when configured (tests read its counters). */
  readonly kafka?: KafkaDetectionsSink;
  /** The pipeline's end: every output to the hub and every sink (fanOut). */
  readonly publish: (d: Detection) => void;
}

export interface SinkDeps {
  readonly hub: Sink;
  /** Sinks of this process beside the hub (the dashboard's view), fed before Kafka and JSONL. */
  readonly local?: readonly Sink[];
  readonly kafka?: Kafka;
  readonly resources: ResourceStack;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
  /** A window reached its sinks: acknowledged by Kafka when there is a Kafka sink, else published. */
  readonly onWindowDelivered?: (camera: string, windowStart: number) => void;
}

/** The sinks the configuration asks for besides the WebSocket hub; each is closed by `resources`. */
export function createSinks(config: Pick<Config, 'kafka' | 'jsonl' | 'jsonlRotation'>, deps: SinkDeps): ConfiguredSinks {
  const { resources, instrumentation, logger } = deps;
  const windowDelivered = (e: OutputEvent): void => {
    if (e.windowStart !== undefined) deps.onWindowDelivered?.(e.camera, e.windowStart);
  };
  const onAcknowledged = (events: readonly OutputEvent[]): void => events.forEach(windowDelivered);
  const sinks: Sink[] = [];
  let kafka: KafkaDetectionsSink | undefined;
  const topic = config.kafka?.detectionsTopic;
  if (deps.kafka !== undefined && topic !== undefined) {
    kafka = resources.defer(new KafkaDetectionsSink({ kafka: deps.kafka, topic, bufferSize: config.kafka?.producerBufferSize, instrumentation, logger, onAcknowledged }), (s) => s.close());
    sinks.push(kafka);
  }
  if (config.jsonl !== undefined) sinks.push(resources.defer(new JsonlSink({ path: config.jsonl, rotation: config.jsonlRotation, instrumentation, logger }), (s) => s.close()));
  // Without a Kafka sink, a window counts as delivered once handed to the hub and the other sinks.
  const delivered: Sink[] = kafka === undefined ? [{ publish: windowDelivered, close: async () => undefined }] : [];
  const publish = fanOut([deps.hub, ...(deps.local ?? []), ...sinks, ...delivered], { instrumentation });
  return { sinks, publish, ...(kafka === undefined ? {} : { kafka }) };
}
