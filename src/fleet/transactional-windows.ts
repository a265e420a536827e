/**
 * The infer role's consumer: frames in, window detections out, exactly once per (camera, session,
 * windowSeq) across crashes and rebalances (docs/scale-out.md).
 *
 * Each fetched batch of a frames partition is decoded, embedded, assembled and scored first
 * (infer-batch.ts); then ONE Kafka transaction holds the batch's window messages (and dead letters)
 * and the group's offset for the partition: R (the oldest frame a pending window still needs) with
 * metadata {emittedBelow: O} (the offset after the batch). Either both become visible to
 * read-committed readers or neither does.
 *
 * A partition's state is rebuilt whenever it may be stale: first seen, after every group join,
 * after a failed batch, or when a batch does not continue where the last one ended. Rebuilding
 * reads the committed R and O, seeks to R, and replays with the windows completed below O
 * suppressed: exactly the windows not yet published come out (WindowAssembler's contract).
 *
 * The guarantee and its limit: a process that dies (kill -9, a crash, a lost machine) publishes
 * nothing more, and its open transaction is aborted by the broker after TRANSACTION_TIMEOUT_MS, so
 * its successor's windows are exactly the missing ones. kafkajs has no KIP-447 (the consumer
 * group's generation cannot travel with sendOffsets), so a process that is still alive but was
 * expelled from the group (a network partition, a pause longer than the session timeout) is not
 * fenced: until it notices, it may commit a transaction for a partition that already has a new
 * owner, and a window may then be published twice. Each process has its own transactional id
 * (a restart cannot fence its previous incarnation by id either; the transaction timeout does).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Admin, Consumer, EachBatchPayload, Kafka, Message, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { ActionClipError } from '../errors.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { backoffDelay } from '../lifecycle/backoff.js';
import { FOREVER_CONSUMER_RETRY } from '../sources/kafka-client.js';
import { superviseConsumer } from '../sources/kafka-connection.js';
import { inferBatch, type InferBatchOptions } from './infer-batch.js';
import { InferOffsetMetadataSchema } from './records.js';
import { WindowAssembler } from './window-assembler.js';

/** How long the broker keeps a dead process's transaction open before aborting it (read-committed readers wait that long). */
export const TRANSACTION_TIMEOUT_MS = 10_000;

export interface TransactionalWindowsOptions extends Omit<InferBatchOptions, 'logger'> {
  readonly kafka: Kafka;
  readonly framesTopic: string;
  readonly detectionsTopic: string;
  readonly groupId: string;
  readonly sessionTimeoutMs?: number;
  readonly stride: number;
  /** A camera idle this long is forgotten (fleet.cameraIdleSec). */
  readonly cameraIdleMs: number;
  readonly logger?: Logger;
  /** Every group join (the first one: the process is ready). */
  readonly onJoin?: () => void;
  /** A fault retrying cannot mend (a configuration error): the process should stop. */
  readonly onFatal?: (err: unknown) => void;
}

export interface TransactionalWindows {
  /** Windows published so far (committed). */
  readonly published: () => number;
  stop(): Promise<void>;
}

interface PartitionState {
  readonly assembler: WindowAssembler<Float32Array>;
  expectedNext: bigint;
}

/** The committed re-read point of a partition and the offset below which windows were published. */
interface Committed {
  readonly rewind: bigint | undefined;
  readonly emittedBelow: bigint | undefined;
}

export function startTransactionalWindows(opts: TransactionalWindowsOptions): TransactionalWindows {
  const log = opts.logger?.child({ component: 'infer', topic: opts.framesTopic });
  const transactionalId = `${opts.groupId}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const states = new Map<number, PartitionState>();
  /** Partitions sent back to their committed R, and where. */
  const sought = new Map<number, bigint>();
  let producer: Producer | undefined;
  let admin: Admin | undefined;
  let consumer: Consumer | undefined;
  let failures = 0;
  let published = 0;
  let stopped = false;

  const connectedProducer = async (): Promise<Producer> => {
    if (producer !== undefined) return producer;
    const p = opts.kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: TRANSACTION_TIMEOUT_MS, retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 } });
    await p.connect();
    producer = p;
    return p;
  };

  /** Drops a producer or admin client that failed: the next batch makes a fresh one (the same transactional id fences the old). */
  const dropClients = (): void => {
    void producer?.disconnect().catch(() => undefined);
    void admin?.disconnect().catch(() => undefined);
    producer = undefined;
    admin = undefined;
  };

  const fetchCommitted = async (partition: number): Promise<Committed> => {
    if (admin === undefined) {
      const a = opts.kafka.admin();
      await a.connect();
      admin = a;
    }
    const topics = await admin.fetchOffsets({ groupId: opts.groupId, topics: [opts.framesTopic] });
    const p = topics.find((t) => t.topic === opts.framesTopic)?.partitions.find((x) => x.partition === partition);
    if (p === undefined || BigInt(p.offset) < 0n) return { rewind: undefined, emittedBelow: undefined };
    let meta: unknown;
    try {
      meta = JSON.parse(p.metadata ?? '');
    } catch {
      meta = undefined;
    }
    const parsed = InferOffsetMetadataSchema.safeParse(meta);
    if (!parsed.success) {
      opts.instrumentation?.emit('fleet.invalid_record', { topic: 'infer-offsets' });
      log?.warn({ partition, offset: p.offset }, 'committed offset has no infer metadata {emittedBelow}: windows from it on are published (some maybe again)');
    }
    return { rewind: BigInt(p.offset), emittedBelow: parsed.success ? BigInt(parsed.data.emittedBelow) : undefined };
  };

  /** A fresh state for a partition whose batch starts at `first`, or undefined after seeking it back to R. */
  const rebuild = async (partition: number, first: bigint): Promise<PartitionState | undefined> => {
    const { rewind, emittedBelow } = await fetchCommitted(partition);
    if (rewind !== undefined && first !== rewind && sought.get(partition) !== rewind) {
      sought.set(partition, rewind);
      consumer?.seek({ topic: opts.framesTopic, partition, offset: rewind.toString() });
      log?.info({ partition, from: first.toString(), to: rewind.toString() }, 'partition assigned: re-reading from its re-read point');
      return undefined;
    }
    // first > R after the seek: frames R..first-1 are gone (retention); their windows are padded.
    if (rewind !== undefined && first !== rewind) log?.warn({ partition, rewind: rewind.toString(), first: first.toString() }, 'frames before the re-read point are gone');
    sought.delete(partition);
    const assembler = new WindowAssembler<Float32Array>({ window: opts.window, stride: opts.stride, idleMs: opts.cameraIdleMs, startOffset: first, suppressBelow: emittedBelow ?? first });
    log?.info({ partition, from: first.toString(), emittedBelow: emittedBelow?.toString() }, 'partition state rebuilt');
    return { assembler, expectedNext: first };
  };

  /** The batch's windows, dead letters and the partition's offset (R, metadata O) in one transaction. */
  const commit = async (partition: number, detections: Message[], deadLetters: Message[], state: PartitionState): Promise<void> => {
    const p = await connectedProducer();
    const tx = await p.transaction();
    try {
      if (detections.length > 0) await tx.send({ topic: opts.detectionsTopic, acks: -1, messages: detections });
      if (deadLetters.length > 0) await tx.send({ topic: opts.deadLetterTopic, acks: -1, messages: deadLetters });
      // kafkajs passes `metadata` through to TxnOffsetCommit; its type only names partition and offset.
      const offset = { partition, offset: state.assembler.rewindOffset().toString(), metadata: JSON.stringify({ emittedBelow: state.assembler.emittedBelow.toString() }) };
      await tx.sendOffsets({ consumerGroupId: opts.groupId, topics: [{ topic: opts.framesTopic, partitions: [offset] }] });
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
  };

  const processBatch = async ({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> => {
    // Fetched before a seek back to R: it is read again from there.
    if (isStale()) return;
    const { partition } = batch;
    const first = BigInt(batch.firstOffset()!);
    let state = states.get(partition);
    if (state === undefined || first < state.expectedNext) {
      states.delete(partition);
      state = await rebuild(partition, first);
      if (state === undefined) return;
      states.set(partition, state);
    }
    const { detections, deadLetters, windows } = await inferBatch(batch.messages, state.assembler, { ...opts, logger: log });
    const last = BigInt(batch.lastOffset());
    state.assembler.skip(last); // offsets the batch filtered out (control records) are behind us too
    const idle = state.assembler.evictIdle();
    if (idle.length > 0) log?.info({ partition, cameras: idle }, 'idle cameras forgotten');
    await heartbeat();
    await commit(partition, detections, deadLetters, state);
    state.expectedNext = last + 1n;
    resolveOffset(batch.lastOffset());
    published += windows;
    if (windows > 0) opts.instrumentation?.emit('sink.delivered', { sink: 'kafka', count: windows });
  };

  const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    if (stopped || payload.batch.isEmpty()) return;
    try {
      await processBatch(payload);
      failures = 0;
    } catch (err) {
      // The partition's state may be ahead of what was committed: rebuilt from R on its next batch.
      states.delete(payload.batch.partition);
      if (err instanceof ActionClipError && !err.retriable && err.kind !== 'malformed') {
        log?.error({ err }, 'infer cannot go on');
        opts.onFatal?.(err);
        return;
      }
      failures++;
      dropClients();
      opts.instrumentation?.emit('fault.retried', { component: 'infer', reason: 'transaction' });
      log?.warn({ err, partition: payload.batch.partition, failures }, 'batch not published (transaction aborted); it is read again from the re-read point');
      await new Promise((r) => setTimeout(r, backoffDelay(failures, { initialMs: 200, maxMs: 2000, jitter: 0.2 })));
      await payload.heartbeat().catch(() => undefined);
    }
  };

  const supervised = superviseConsumer({
    component: 'kafka-infer',
    make: () => opts.kafka.consumer({ groupId: opts.groupId, retry: FOREVER_CONSUMER_RETRY, ...(opts.sessionTimeoutMs === undefined ? {} : { sessionTimeout: opts.sessionTimeoutMs }) }),
    start: async (c) => {
      consumer = c;
      // Any join may have moved partitions: every state is rebuilt from what was committed.
      c.on(c.events.GROUP_JOIN, () => (states.clear(), sought.clear()));
      await c.connect();
      // A brand-new group reads what the topic holds: frames ingested before the first infer joined are not skipped.
      await c.subscribe({ topic: opts.framesTopic, fromBeginning: true });
      await c.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
    },
    onJoin: () => opts.onJoin?.(),
    instrumentation: opts.instrumentation,
    logger: log,
  });

  return {
    published: () => published,
    async stop() {
      stopped = true;
      await supervised.stop();
      await producer?.disconnect().catch(() => undefined);
      await admin?.disconnect().catch(() => undefined);
    },
  };
}
