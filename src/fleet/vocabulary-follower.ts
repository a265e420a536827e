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
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { BehaviorSubject, filter, type Observable, type Subscription } from 'rxjs';
import type { VocabularyStore } from '../control/vocabulary-store.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { invalidRecord, parseJsonRecord, readCompactedTopic, type RecordPlace } from './compacted-reader.js';
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
  const r = parseJsonRecord(VocabularyRecordSchema, value);
  return r.ok ? r.value : r.error;
}

export function startVocabularyFollower(opts: VocabularyFollowerOptions): VocabularyFollower {
  const log = opts.logger?.child({ component: 'vocabulary-follower', topic: opts.topic });
  const subject = new BehaviorSubject<VocabularyRecord | undefined>(undefined);
  let invalid = 0;
  const take = (key: string | undefined, value: Buffer | null, at: RecordPlace): void => {
    const r = parseVocabularyRecord(key, value);
    if (typeof r === 'string') {
      invalid++;
      invalidRecord({ role: 'vocabulary', instrumentation: opts.instrumentation }, log, at, key, r);
      return;
    }
    const newest = subject.getValue();
    if (newest !== undefined && r.version <= newest.version) return;
    log?.info({ version: r.version, labels: r.labels.length }, 'vocabulary version read');
    subject.next(r);
  };
  // The shared compacted-topic reader: private group, from the beginning, ready once caught up.
  const reader = readCompactedTopic({ kafka: opts.kafka, topic: opts.topic, role: 'vocabulary', component: 'kafka-vocabulary', groupIdPrefix: opts.groupIdPrefix, onRecord: take, instrumentation: opts.instrumentation, logger: opts.logger });
  return {
    ready: reader.ready.then(() => subject.getValue()),
    latest$: subject.pipe(filter((r): r is VocabularyRecord => r !== undefined)),
    invalidRecords: () => invalid,
    async stop() {
      await reader.stop();
      subject.complete();
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
