import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import type { ResourceStack } from '../lifecycle/resource-stack.js';
import type { Sink } from './events.js';
import { JsonlSink } from './jsonl.js';
import { KafkaDetectionsSink } from './kafka-detections.js';

export interface ConfiguredSinks {
  readonly sinks: Sink[];
  /** The Kafka sink, when configured (tests read its counters). */
  readonly kafka?: KafkaDetectionsSink;
}

/** The sinks the configuration asks for besides the WebSocket hub; each is closed by `resources`. */
export function createSinks(
  config: Pick<Config, 'kafka' | 'jsonl' | 'jsonlRotation'>,
  deps: { kafka?: Kafka; resources: ResourceStack; instrumentation?: Instrumentation; logger?: Logger },
): ConfiguredSinks {
  const { resources, instrumentation, logger } = deps;
  const sinks: Sink[] = [];
  let kafka: KafkaDetectionsSink | undefined;
  const topic = config.kafka?.detectionsTopic;
  if (deps.kafka !== undefined && topic !== undefined) {
    kafka = resources.defer(new KafkaDetectionsSink({ kafka: deps.kafka, topic, bufferSize: config.kafka?.producerBufferSize, instrumentation, logger }), (s) => s.close());
    sinks.push(kafka);
  }
  if (config.jsonl !== undefined) sinks.push(resources.defer(new JsonlSink({ path: config.jsonl, rotation: config.jsonlRotation, instrumentation, logger }), (s) => s.close()));
  return { sinks, ...(kafka === undefined ? {} : { kafka }) };
}
