/**
 * The fleet's vocabulary as an infer process sees it: the compacted vocabulary topic (one key,
 * VOCABULARY_KEY, written only by a gateway) read from the beginning, then followed.
 *
 * It reads with a private consumer group (`<prefix>-vocabulary-<host>-<pid>-<random>`) that never
 * commits, so every start, and every replacement consumer, reads the topic from the beginning.
 * `ready` resolves once the consumer caught up to the topic's high watermark taken at start, with
 * the newest valid record (undefined when the topic held none): the first window is scored with
 * the current version, never an older one.
 *
 * Versions only grow: a record whose version is not above the newest one seen is ignored (a
 * compaction not yet run replays older ones first). An invalid record is logged, counted
 * (`fleet.invalid_record`) and skipped.
 *
 * An EMPTY topic means "no gateway changed the vocabulary yet": the infer process uses the
 * configured vocabulary (labels / vocabulary) as version 0, so any version a gateway writes (>= 1)
 * replaces it (see `followVocabulary`).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { BehaviorSubject, filter, type Observable, type Subscription } from 'rxjs';
import type { VocabularyStore } from '../control/vocabulary-store.js';
import { deletePrivateGroup } from '../control/kafka-control.js';
import { formatIssues } from '../errors.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { FOREVER_CONSUMER_RETRY } from '../sources/kafka-client.js';
import { superviseConsumer } from '../sources/kafka-connection.js';
import { VOCABULARY_KEY, VocabularyRecordSchema, type VocabularyRecord } from './records.js';

export interface VocabularyFollowerOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** Prefix of the private consumer group. */
  readonly groupIdPrefix: string;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
}

export interface VocabularyFollower {
  /** The newest valid record once caught up with the topic as it was at start; undefined: the topic had none. */
  readonly ready: Promise<VocabularyRecord | undefined>;
  /** The newest valid record (replayed on subscribe), then each newer one. */
  readonly latest$: Observable<VocabularyRecord>;
  /** Records skipped as invalid. */
  readonly invalidRecords: () => number;
  stop(): Promise<void>;
}

/** Parses one record of the vocabulary topic; a string saying what is wrong when it is not one. */
export function parseVocabularyRecord(key: string | undefined, value: Buffer | null): VocabularyRecord | string {
  if (key !== VOCABULARY_KEY) return `key ${JSON.stringify(key?.slice(0, 64) ?? null)} is not "${VOCABULARY_KEY}"`;
  if (value === null) return 'a tombstone (the vocabulary is never deleted)';
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return 'value is not JSON';
  }
  const r = VocabularyRecordSchema.safeParse(json);
  return r.success ? r.data : formatIssues(r.error, { root: 'record', indices: 'dots' });
}

/** High watermark per partition now: what "caught up" means at start. */
async function highWatermarks(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function startVocabularyFollower(opts: VocabularyFollowerOptions): VocabularyFollower {
  const log = opts.logger?.child({ component: 'vocabulary-follower', topic: opts.topic });
  const groupId = `${opts.groupIdPrefix}-vocabulary-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const subject = new BehaviorSubject<VocabularyRecord | undefined>(undefined);
  let invalid = 0;
  let joined = false;
  /** Partitions not caught up yet; undefined until the watermarks are known. */
  let behind: Map<number, bigint> | undefined;
  let markReady!: (r: VocabularyRecord | undefined) => void;
  const ready = new Promise<VocabularyRecord | undefined>((resolve) => (markReady = resolve));
  const checkReady = (): void => {
    if (behind !== undefined && behind.size === 0 && joined) markReady(subject.getValue());
  };

  const take = (key: string | undefined, value: Buffer | null, where: { partition: number; offset: string }): void => {
    const r = parseVocabularyRecord(key, value);
    if (typeof r === 'string') {
      invalid++;
      opts.instrumentation?.emit('fleet.invalid_record', { topic: 'vocabulary' });
      log?.warn({ ...where, error: r }, 'invalid vocabulary record: skipped');
      return;
    }
    const newest = subject.getValue();
    if (newest !== undefined && r.version <= newest.version) return;
    log?.info({ version: r.version, labels: r.labels.length }, 'vocabulary version read');
    subject.next(r);
  };

  const eachBatch = async ({ batch }: EachBatchPayload): Promise<void> => {
    for (const m of batch.messages) take(m.key?.toString('utf8'), m.value, { partition: batch.partition, offset: m.offset });
    const high = behind?.get(batch.partition);
    if (high !== undefined && BigInt(batch.lastOffset()) + 1n >= high) behind!.delete(batch.partition);
    checkReady();
  };

  const supervised = superviseConsumer({
    component: 'kafka-vocabulary',
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
    latest$: subject.pipe(filter((r): r is VocabularyRecord => r !== undefined)),
    invalidRecords: () => invalid,
    async stop() {
      await supervised.stop();
      subject.complete();
      if (joined) await deletePrivateGroup(opts.kafka, groupId);
    },
  };
}

/**
 * Keeps `store` on the topic's newest version: each newer record is encoded (the store's text
 * encoding and cache) under the record's own version number. A record without templates means the
 * default ones (`defaultTemplates`), not "keep the current ones": every infer process then holds
 * the same vocabulary for a version, whichever versions it saw before.
 */
export function followVocabulary(store: VocabularyStore, follower: Pick<VocabularyFollower, 'latest$'>, defaultTemplates: readonly string[], logger?: Logger): Subscription {
  return follower.latest$.subscribe((r) => {
    if (r.version <= store.current.version) return;
    store.update({ labels: r.labels, templates: [...(r.templates ?? defaultTemplates)] }, r.version).then(
      (v) => logger?.info({ version: v.version, labels: v.labels.length }, 'vocabulary version active'),
      (err: unknown) => logger?.error({ err, version: r.version }, 'vocabulary version could not be encoded; the previous one stays'),
    );
  });
}
