/**
 * The detections topic as a gateway follows it: every committed message (read committed, kafkajs'
 * default: windows of an aborted infer transaction are never seen), validated, handed on for the
 * WebSocket subscribers. Each gateway has a private consumer group, so each sees every message.
 *
 * It starts from the end of the topic as it is at start: before the consumer first joins, the
 * group's offsets are set to the high watermarks, so whatever is written once `ready` resolved is
 * seen; no earlier window is replayed. It then commits as it goes, so a consumer replaced after a
 * broker outage resumes where it was rather than skipping to the end.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { DetectionMessageSchema, type DetectionMessage } from '../detections/schema.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { deletePrivateGroup } from '../control/kafka-control.js';
import { FOREVER_CONSUMER_RETRY } from '../sources/kafka-client.js';
import { superviseConsumer } from '../sources/kafka-connection.js';
import { invalidRecord, parseJsonRecord, privateGroupId } from './compacted-reader.js';

export interface DetectionsRelayOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** Prefix of the private consumer group. */
  readonly groupIdPrefix: string;
  /** One valid message, in order per camera. */
  readonly publish: (message: DetectionMessage) => void;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
}

export interface DetectionsRelay {
  /** Resolves once the consumer joined, positioned at the end of the topic as it was at start. */
  readonly ready: Promise<void>;
  readonly groupId: string;
  /** Messages skipped as invalid. */
  invalid(): number;
  stop(): Promise<void>;
}

/** Sets a new group's offsets to the topic's current ends (the group must have no member yet). */
async function startAtEnd(kafka: Kafka, groupId: string, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function startDetectionsRelay(opts: DetectionsRelayOptions): DetectionsRelay {
  const log = opts.logger?.child({ component: 'kafka-detections', topic: opts.topic });
  const groupId = privateGroupId(opts.groupIdPrefix, 'detections');
  let positioned = false;
  let joined = false;
  let invalid = 0;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const take = (message: KafkaMessage, partition: number): void => {
    const at = { partition, offset: message.offset };
    const key = message.key?.toString('utf8');
    const r = message.value === null ? { ok: false as const, error: 'no value' } : parseJsonRecord(DetectionMessageSchema, message.value);
    if (r.ok) return opts.publish(r.value);
    invalid++;
    invalidRecord({ role: 'detections', instrumentation: opts.instrumentation }, log, at, key, r.error);
  };

  const supervised = superviseConsumer({
    component: 'kafka-detections',
    make: () => opts.kafka.consumer({ groupId, retry: FOREVER_CONSUMER_RETRY }),
    start: async (consumer) => {
      // Only before the first join: a replacement consumer goes on from the group's commits.
      if (!positioned) await startAtEnd(opts.kafka, groupId, opts.topic);
      positioned = true;
      await consumer.connect();
      await consumer.subscribe({ topic: opts.topic, fromBeginning: false });
      await consumer.run({ eachMessage: async ({ message, partition }) => take(message, partition) });
    },
    onJoin: () => {
      joined = true;
      markReady();
    },
    instrumentation: opts.instrumentation,
    logger: log,
  });

  return {
    ready,
    groupId,
    invalid: () => invalid,
    async stop() {
      await supervised.stop();
      if (joined) await deletePrivateGroup(opts.kafka, groupId);
    },
  };
}
