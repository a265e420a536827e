/**
 * A compacted fleet topic (cameras, camera states, vocabulary) read as a table: from the beginning
 * on every start, then followed. A private consumer group that never commits, so each start reads
 * the whole topic; a replacement consumer (after a long broker outage) reads it again too, and
 * skips what was already applied.
 *
 * `ready` resolves once every partition was read up to its high watermark as it was at start:
 * from then on the table is at least as new as the topic was when this process started.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { FleetTopics } from '../../config/schema-fleet.js';
import { formatIssues } from '../errors.js';
import type { Instrumentation, KafkaComponent } from '../instrumentation/instrumentation.js';
import { FOREVER_CONSUMER_RETRY } from '../sources/kafka-client.js';
import { superviseConsumer } from '../sources/kafka-connection.js';
import { deletePrivateGroup } from '../control/kafka-control.js';

/** Where a record was, for logs. */
export interface RecordPlace {
  readonly partition: number;
  readonly offset: string;
}

export interface CompactedReaderOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** Which of `fleet.topics` it is (logs and the invalid-record count). */
  readonly role: keyof FleetTopics;
  readonly component: KafkaComponent;
  /** Prefix of the private consumer group. */
  readonly groupIdPrefix: string;
  /** One record, in offset order per partition; `value` null is a tombstone. */
  readonly onRecord: (key: string | undefined, value: Buffer | null, at: RecordPlace) => void;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
}

export interface CompactedReader {
  readonly ready: Promise<void>;
  readonly groupId: string;
  stop(): Promise<void>;
}

export function privateGroupId(prefix: string, what: string): string {
  return `${prefix}-${what}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** JSON parsed and validated against `schema`, or a sentence saying what is wrong with it. */
export function parseJsonRecord<S extends z.ZodType>(schema: S, value: Buffer): Parsed<z.infer<S>> {
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, error: 'value is not JSON' };
  }
  const r = schema.safeParse(json);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: formatIssues(r.error, { root: 'record', indices: 'dots' }) };
}

/** Reports an invalid record: counted (`fleet.invalid_record`) and logged, never fatal. */
export function invalidRecord(o: Pick<CompactedReaderOptions, 'role' | 'instrumentation'>, log: Logger | undefined, at: RecordPlace, key: string | undefined, error: string): void {
  o.instrumentation?.emit('fleet.invalid_record', { topic: o.role });
  log?.warn({ ...at, key: key?.slice(0, 64), error }, `invalid ${o.role} record: skipped`);
}

/** High watermark per non-empty partition now. */
export async function highWatermarks(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function readCompactedTopic(opts: CompactedReaderOptions): CompactedReader {
  const log = opts.logger?.child({ component: opts.component, topic: opts.topic });
  const groupId = privateGroupId(opts.groupIdPrefix, opts.role);
  let joined = false;
  /** Partitions not read up to their start watermark yet; undefined until the watermarks are known. */
  let behind: Map<number, bigint> | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const checkReady = (): void => {
    if (joined && behind?.size === 0) markReady();
  };
  /** Per partition, the offset of the last record applied. */
  const applied = new Map<number, bigint>();
  const eachBatch = async ({ batch }: EachBatchPayload): Promise<void> => {
    const p = batch.partition;
    for (const m of batch.messages) {
      // A replacement consumer reads from the beginning again: what was applied is not applied twice
      // (older states would flash by on the WebSocket, and the table would go back in time meanwhile).
      const offset = BigInt(m.offset);
      if (offset <= (applied.get(p) ?? -1n)) continue;
      applied.set(p, offset);
      opts.onRecord(m.key?.toString('utf8'), m.value, { partition: p, offset: m.offset });
    }
    const high = behind?.get(batch.partition);
    // The last record of a partition is never compacted away (the active segment is not cleaned).
    if (high !== undefined && BigInt(batch.lastOffset()) + 1n >= high) behind!.delete(batch.partition);
    checkReady();
  };
  const supervised = superviseConsumer({
    component: opts.component,
    make: () => opts.kafka.consumer({ groupId, retry: FOREVER_CONSUMER_RETRY }),
    start: async (consumer) => {
      behind ??= await highWatermarks(opts.kafka, opts.topic);
      await consumer.connect();
      await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatch });
    },
    onJoin: () => {
      joined = true;
      checkReady();
    },
    instrumentation: opts.instrumentation,
    logger: log,
  });
  return {
    ready,
    groupId,
    async stop() {
      await supervised.stop();
      if (joined) await deletePrivateGroup(opts.kafka, groupId);
    },
  };
}
