/**
 * The ingest processes' consumer group on the compacted cameras topic (key = camera id, value =
 * CameraSchema JSON, null = removed): each process watches the cameras whose latest record lies in
 * the partitions the group assigned it (see AssignedCameras for how an assignment is rebuilt).
 * Offsets are never committed: autoCommit is off and every join finds no committed offset, so
 * kafkajs starts each assigned partition at its earliest offset (`fromBeginning`).
 */
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { CameraConfig } from '../../config/schema.js';
import { CameraIdSchema } from '../../config/schema.js';
import { formatIssues } from '../errors.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { backoffDelay } from '../lifecycle/backoff.js';
import { FOREVER_CONSUMER_RETRY } from '../sources/kafka-client.js';
import { superviseConsumer } from '../sources/kafka-connection.js';
import { redactText } from '../sources/redact.js';
import { AssignedCameras, type CameraChange } from './camera-set.js';
import { CameraRecordSchema } from './records.js';

export interface CameraAssignmentOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly sessionTimeoutMs?: number;
  /** Called for every change of this process's camera set, in order. */
  readonly onChange: (change: CameraChange) => void;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
}

export interface CameraAssignment {
  /** Resolves at the first group join. */
  readonly ready: Promise<void>;
  /** The cameras this process should watch now. */
  cameras(): CameraConfig[];
  /** Leaves the group (the partitions go to the other members at once). */
  stop(): Promise<void>;
}

/** A camera record as the topic holds it: the camera, null for a tombstone; throws a readable reason. */
export function parseCameraRecord(message: Pick<KafkaMessage, 'key' | 'value'>): { id: string; camera: CameraConfig | null } {
  const key = message.key?.toString('utf8');
  const id = CameraIdSchema.safeParse(key);
  if (!id.success) throw new Error(`key must be a camera id (got ${key === undefined ? 'none' : JSON.stringify(key.slice(0, 64))})`);
  if (message.value === null || message.value.length === 0) return { id: id.data, camera: null };
  let json: unknown;
  try {
    json = JSON.parse(message.value.toString('utf8'));
  } catch (err) {
    throw new Error(`value is not JSON: ${(err as Error).message}`);
  }
  const parsed = CameraRecordSchema.safeParse(json);
  if (!parsed.success) throw new Error(`value is not a camera: ${formatIssues(parsed.error)}`);
  if (parsed.data.id !== id.data) throw new Error(`value's id "${parsed.data.id}" is not the key "${id.data}"`);
  return { id: id.data, camera: parsed.data };
}

/** Asks for the partitions' end offsets (retried with back-off until answered or superseded). */
async function fetchEnds(admin: Admin, topic: string, stillWanted: () => boolean, log?: Logger): Promise<Array<{ partition: number; low: string; high: string }> | undefined> {
  for (let attempt = 1; stillWanted(); attempt++) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (err) {
      log?.warn({ err, attempt }, 'cameras topic: could not read its end offsets; retrying');
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, { initialMs: 500, maxMs: 10_000, jitter: 0.2 })));
    }
  }
  return undefined;
}

export function startCameraAssignment(opts: CameraAssignmentOptions): CameraAssignment {
  const log = opts.logger?.child({ component: 'kafka-cameras', topic: opts.topic });
  const set = new AssignedCameras(opts.onChange);
  const admin = opts.kafka.admin();
  let generation = 0;
  let stopped = false;
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));

  const joined = async (partitions: number[]): Promise<void> => {
    const mine = ++generation;
    set.assign(partitions);
    log?.info({ partitions }, 'cameras topic: partitions assigned; reading them from the beginning');
    const ends = await fetchEnds(admin, opts.topic, () => !stopped && mine === generation, log);
    if (ends === undefined || mine !== generation) return;
    for (const e of ends) if (partitions.includes(e.partition)) set.endOffsets(e.partition, BigInt(e.low), BigInt(e.high));
  };

  const eachMessage = async ({ partition, message }: { partition: number; message: KafkaMessage }): Promise<void> => {
    try {
      const { id, camera } = parseCameraRecord(message);
      set.record(partition, BigInt(message.offset), id, camera);
    } catch (err) {
      // A bad record changes nothing (the camera's previous record stays in force) and is counted.
      opts.instrumentation?.emit('source.malformed', { reason: 'camera-record' });
      log?.warn({ partition, offset: message.offset, error: redactText((err as Error).message) }, 'invalid camera record ignored');
      set.progress(partition, BigInt(message.offset));
    }
  };

  const supervised = superviseConsumer({
    component: 'kafka-cameras',
    make: () => opts.kafka.consumer({ groupId: opts.groupId, retry: FOREVER_CONSUMER_RETRY, ...(opts.sessionTimeoutMs === undefined ? {} : { sessionTimeout: opts.sessionTimeoutMs }) }),
    start: async (c: Consumer) => {
      c.on(c.events.GROUP_JOIN, (e) => void joined(e.payload.memberAssignment[opts.topic] ?? []));
      // Also past batches kafkajs filtered out entirely (control records), which reach no eachMessage.
      c.on(c.events.END_BATCH_PROCESS, (e) => {
        if (e.payload.topic === opts.topic) set.progress(e.payload.partition, BigInt(e.payload.lastOffset));
      });
      await admin.connect();
      await c.connect();
      await c.subscribe({ topic: opts.topic, fromBeginning: true });
      await c.run({ autoCommit: false, eachMessage });
    },
    onJoin: onReady,
    instrumentation: opts.instrumentation,
    logger: log,
  });

  return {
    ready,
    cameras: () => set.cameras(),
    async stop() {
      stopped = true;
      await supervised.stop();
      await admin.disconnect().catch(() => undefined);
    },
  };
}
