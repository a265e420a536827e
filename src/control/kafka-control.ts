import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { z } from 'zod';
import { formatIssues } from '../errors.js';
import { FOREVER_CONSUMER_RETRY } from '../sources/kafka-client.js';
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

export function startKafkaControl(opts: KafkaControlOptions): KafkaControl {
  const log = opts.logger?.child({ component: 'kafka-control', topic: opts.topic });
  const groupId = controlGroupId(opts.groupIdPrefix);
  const consumer = opts.kafka.consumer({ groupId, retry: FOREVER_CONSUMER_RETRY });
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => markReady());

  const run = async (): Promise<void> => {
    await consumer.connect();
    await consumer.subscribe({ topic: opts.topic, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
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
      },
    });
  };
  run().catch((err: unknown) => log?.error({ err }, 'control consumer failed to start'));

  return {
    ready,
    groupId,
    async stop() {
      await consumer.disconnect().catch(() => undefined);
      // The private group is of no use to anyone once this worker is gone.
      const admin = opts.kafka.admin();
      try {
        await admin.connect();
        await admin.deleteGroups([groupId]);
      } catch {
        /* best effort: the broker expires empty groups anyway */
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  };
}
