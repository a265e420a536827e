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
 * Nor does kafkajs ask for stable offsets (OffsetFetch require_stable, also KIP-447): a process that
 * dies in the instant between its commit being decided and the group's offsets being updated may
 * leave its successor the previous R and O, and that batch's windows are then published again.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Admin, Consumer, EachBatchPayload, Kafka, Message, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { ActionClipError } from '../errors.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { backoffDelay } from '../lifecycle/backoff.js';
import { FOREVER_CONSUMER_RETRY } from '../sources/kafka-client.js';
import { superviseConsumer, type SupervisedConsumer } from '../sources/kafka-connection.js';
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
  published(): number;
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

/** Where a partition's replay starts: its committed offset metadata, read from the group. */
async function fetchCommitted(admin: Admin, opts: TransactionalWindowsOptions, partition: number, log?: Logger): Promise<Committed> {
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
}

/** The batch's windows, dead letters and the partition's offset (R, metadata O) in one transaction. */
async function commitBatch(producer: Producer, opts: TransactionalWindowsOptions, partition: number, out: { detections: Message[]; deadLetters: Message[] }, assembler: WindowAssembler<Float32Array>): Promise<void> {
  const tx = await producer.transaction();
  try {
    if (out.detections.length > 0) await tx.send({ topic: opts.detectionsTopic, acks: -1, messages: out.detections });
    if (out.deadLetters.length > 0) await tx.send({ topic: opts.deadLetterTopic, acks: -1, messages: out.deadLetters });
    // kafkajs passes `metadata` through to TxnOffsetCommit; its type only names partition and offset.
    const offset = { partition, offset: assembler.rewindOffset().toString(), metadata: JSON.stringify({ emittedBelow: assembler.emittedBelow.toString() }) };
    await tx.sendOffsets({ consumerGroupId: opts.groupId, topics: [{ topic: opts.framesTopic, partitions: [offset] }] });
    await tx.commit();
  } catch (err) {
    await tx.abort().catch(() => undefined);
    throw err;
  }
}

class TransactionalWindowsConsumer implements TransactionalWindows {
  private readonly log: Logger | undefined;
  private readonly transactionalId: string;
  private readonly states = new Map<number, PartitionState>();
  /** Partitions sent back to their committed R, and where. */
  private readonly sought = new Map<number, bigint>();
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private consumer: Consumer | undefined;
  private failures = 0;
  private count = 0;
  private stopped = false;
  private readonly supervised: SupervisedConsumer;

  constructor(private readonly opts: TransactionalWindowsOptions) {
    this.log = opts.logger?.child({ component: 'infer', topic: opts.framesTopic });
    this.transactionalId = `${opts.groupId}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.supervised = superviseConsumer({
      component: 'kafka-infer',
      make: () => opts.kafka.consumer({ groupId: opts.groupId, retry: FOREVER_CONSUMER_RETRY, ...(opts.sessionTimeoutMs === undefined ? {} : { sessionTimeout: opts.sessionTimeoutMs }) }),
      start: async (c) => {
        this.consumer = c;
        // Any join may have moved partitions: every state is rebuilt from what was committed.
        c.on(c.events.GROUP_JOIN, () => (this.states.clear(), this.sought.clear()));
        await c.connect();
        // A brand-new group reads what the topic holds: frames ingested before the first infer joined are not skipped.
        await c.subscribe({ topic: opts.framesTopic, fromBeginning: true });
        await c.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.eachBatch(p) });
      },
      onJoin: () => opts.onJoin?.(),
      instrumentation: opts.instrumentation,
      logger: this.log,
    });
  }

  published(): number {
    return this.count;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.supervised.stop();
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }

  private async connectedProducer(): Promise<Producer> {
    if (this.producer !== undefined) return this.producer;
    const p = this.opts.kafka.producer({ transactionalId: this.transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: TRANSACTION_TIMEOUT_MS, retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 } });
    await p.connect();
    this.producer = p;
    return p;
  }

  private async connectedAdmin(): Promise<Admin> {
    if (this.admin !== undefined) return this.admin;
    const a = this.opts.kafka.admin();
    await a.connect();
    this.admin = a;
    return a;
  }

  /** Drops a producer or admin client that failed: the next batch makes a fresh one (the same transactional id fences the old). */
  private dropClients(): void {
    void this.producer?.disconnect().catch(() => undefined);
    void this.admin?.disconnect().catch(() => undefined);
    this.producer = undefined;
    this.admin = undefined;
  }

  /** A fresh state for a partition whose batch starts at `first`, or undefined after seeking it back to R. */
  private async rebuild(partition: number, first: bigint): Promise<PartitionState | undefined> {
    const { rewind, emittedBelow } = await fetchCommitted(await this.connectedAdmin(), this.opts, partition, this.log);
    if (rewind !== undefined && first !== rewind && this.sought.get(partition) !== rewind) {
      this.sought.set(partition, rewind);
      this.consumer?.seek({ topic: this.opts.framesTopic, partition, offset: rewind.toString() });
      this.log?.info({ partition, from: first.toString(), to: rewind.toString() }, 'partition assigned: re-reading from its re-read point');
      return undefined;
    }
    // first > R after the seek: frames R..first-1 are gone (retention); their windows are padded.
    if (rewind !== undefined && first !== rewind) this.log?.warn({ partition, rewind: rewind.toString(), first: first.toString() }, 'frames before the re-read point are gone');
    this.sought.delete(partition);
    const { window, stride, cameraIdleMs } = this.opts;
    const assembler = new WindowAssembler<Float32Array>({ window, stride, idleMs: cameraIdleMs, startOffset: first, suppressBelow: emittedBelow ?? first });
    this.log?.info({ partition, from: first.toString(), emittedBelow: emittedBelow?.toString() }, 'partition state rebuilt');
    return { assembler, expectedNext: first };
  }

  private async processBatch({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    // Fetched before a seek back to R: it is read again from there.
    if (isStale()) return;
    const { partition } = batch;
    const first = BigInt(batch.firstOffset()!);
    let state = this.states.get(partition);
    if (state === undefined || first < state.expectedNext) {
      this.states.delete(partition);
      state = await this.rebuild(partition, first);
      if (state === undefined) return;
      this.states.set(partition, state);
    }
    const out = await inferBatch(batch.messages, state.assembler, { ...this.opts, logger: this.log });
    const last = BigInt(batch.lastOffset());
    state.assembler.skip(last); // offsets the batch filtered out (control records) are behind us too
    const idle = state.assembler.evictIdle();
    if (idle.length > 0) this.log?.info({ partition, cameras: idle }, 'idle cameras forgotten');
    await heartbeat();
    await commitBatch(await this.connectedProducer(), this.opts, partition, out, state.assembler);
    state.expectedNext = last + 1n;
    resolveOffset(batch.lastOffset());
    this.count += out.windows;
    if (out.windows > 0) this.opts.instrumentation?.emit('sink.delivered', { sink: 'kafka', count: out.windows });
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    if (this.stopped || payload.batch.isEmpty()) return;
    try {
      await this.processBatch(payload);
      this.failures = 0;
    } catch (err) {
      // The partition's state may be ahead of what was committed: rebuilt from R on its next batch.
      this.states.delete(payload.batch.partition);
      if (err instanceof ActionClipError && !err.retriable && err.kind !== 'malformed') {
        this.log?.error({ err }, 'infer cannot go on');
        this.opts.onFatal?.(err);
        return;
      }
      this.failures++;
      this.dropClients();
      this.opts.instrumentation?.emit('fault.retried', { component: 'infer', reason: 'transaction' });
      this.log?.warn({ err, partition: payload.batch.partition, failures: this.failures }, 'batch not published (transaction aborted); it is read again from the re-read point');
      await new Promise((r) => setTimeout(r, backoffDelay(this.failures, { initialMs: 200, maxMs: 2000, jitter: 0.2 })));
      await payload.heartbeat().catch(() => undefined);
    }
  }
}

/** Starts consuming frames and publishing windows transactionally (see the file comment). */
export function startTransactionalWindows(opts: TransactionalWindowsOptions): TransactionalWindows {
  return new TransactionalWindowsConsumer(opts);
}
