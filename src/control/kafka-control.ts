import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { z } from 'zod';
import { formatIssues } from '../errors.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { FOREVER_CONSUMER_RETRY } from '../sources/kafka-client.js';
import { superviseConsumer } from '../sources/kafka-connection.js';
import { LabelsSchema, TemplatesSchema, type VocabularyUpdate } from '../../config/schema.js';

/**
 * Control messages on the control topic (JSON values; the key is ignored):
 *
 *   {"type":"vocabulary","labels":["a","b"],"templates"?:["a video of {}."]}
 *
 * Every worker must see every change, so each consumes with its own consumer group
 * (`<groupId>-control-<host>-<pid>-<random>`), starting at the latest offset: the vocabulary at
 * start-up comes from the configuration, changes after that from here.
 */
export const ControlMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('vocabulary'), labels: LabelsSchema, templates: TemplatesSchema.optional() }),
]);
export type ControlMessage = z.infer<typeof ControlMessageSchema>;

export interface KafkaControlOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** Prefix of this worker's private consumer group. */
  readonly groupIdPrefix: string;
  readonly onVocabulary: (update: VocabularyUpdate) => Promise<number>;
  /** Receives the consumer's connection state (`kafka.connection`, component `kafka-control`). */
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
}

export interface KafkaControl {
  /** Resolves once the consumer has joined its group (messages from then on are seen). */
  readonly ready: Promise<void>;
  readonly groupId: string;
  stop(): Promise<void>;
}

export function controlGroupId(prefix: string): string {
  return `${prefix}-control-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

/** Applies one control message; a bad one is logged and skipped, never fatal. */
async function handleControlMessage(message: KafkaMessage, partition: number, opts: KafkaControlOptions, log: Logger | undefined): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch {
    log?.warn({ partition, offset: message.offset }, 'control message is not JSON: ignored');
    return;
  }
  const r = ControlMessageSchema.safeParse(body);
  if (!r.success) {
    log?.warn({ partition, offset: message.offset, error: formatIssues(r.error) }, 'invalid control message: ignored');
    return;
  }
  const { type: _type, ...update } = r.data;
  try {
    const version = await opts.onVocabulary(update);
    log?.info({ version, labels: update.labels.length }, 'vocabulary changed from the control topic');
  } catch (err) {
    log?.warn({ err }, 'vocabulary change from the control topic rejected');
  }
}

export function startKafkaControl(opts: KafkaControlOptions): KafkaControl {
  const log = opts.logger?.child({ component: 'kafka-control', topic: opts.topic });
  const groupId = controlGroupId(opts.groupIdPrefix);
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let joined = false;
  // A consumer that cannot connect, or that kafkajs gave up on, is replaced after a back-off.
  const supervised = superviseConsumer({
    component: 'kafka-control',
    make: () => opts.kafka.consumer({ groupId, retry: FOREVER_CONSUMER_RETRY }),
    start: async (consumer) => {
      await consumer.connect();
      await consumer.subscribe({ topic: opts.topic, fromBeginning: false });
      await consumer.run({ eachMessage: ({ message, partition }) => handleControlMessage(message, partition, opts, log) });
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
    async stop() {
      await supervised.stop();
      // The private group is of no use to anyone once this worker is gone (none was made if it never joined).
      if (joined) await deletePrivateGroup(opts.kafka, groupId);
    },
  };
}

/** Deletes a worker's private consumer group when it stops: one quick try, never throws. */
export async function deletePrivateGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin({ retry: { retries: 1 } });
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch {
    /* best effort: the broker expires empty groups anyway */
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
