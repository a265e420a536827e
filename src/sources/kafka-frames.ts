import { Partitioners, type Consumer, type EachMessagePayload, type IHeaders, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { Observable } from 'rxjs';
import sharp from 'sharp';
import type { Logger } from 'pino';
import { CameraIdSchema } from '../../config/schema.js';
import { MalformedInputError } from '../errors.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { FOREVER_CONSUMER_RETRY } from './kafka-client.js';
import { superviseConsumer } from './kafka-connection.js';
import { FrameOffsets, startCommitter } from './kafka-offsets.js';
import type { Frame } from '../types.js';

/**
 * Frames over Kafka. One message = one frame:
 *
 * | part            | content                                                                    |
 * | --------------- | -------------------------------------------------------------------------- |
 * | key             | camera id (all frames of a camera land in one partition, hence one worker) |
 * | value           | a JPEG or PNG image, or raw interleaved RGB (width*height*3 bytes)         |
 * | header `width`  | decimal; with `height` required for raw RGB                                 |
 * | header `height` | decimal                                                                    |
 * | header `format` | optional: `rgb`, `jpeg` or `png` (default: raw when width*height*3 matches) |
 * | header `ts`     | capture time, epoch ms (decimal); default: the Kafka message timestamp      |
 *
 * A message that cannot be decoded goes to the dead-letter topic unchanged, plus an `error` header
 * saying why, and is counted; the consumer carries on.
 */
export const FRAME_HEADERS = { width: 'width', height: 'height', format: 'format', ts: 'ts', error: 'error' } as const;

/** A frame message that cannot be decoded; `reason` labels the dead-letter counter. */
export class MalformedFrameError extends MalformedInputError {
  declare readonly reason: 'key' | 'headers' | 'size' | 'image';
  constructor(message: string, reason: 'key' | 'headers' | 'size' | 'image') {
    super(reason, message);
  }
}

/** A header's first value as text (kafkajs gives Buffers, strings or arrays of them). */
export function header(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

function intHeader(headers: IHeaders | undefined, name: string, max: number): number | undefined {
  const s = header(headers, name);
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s.trim()) || Number(s) < 1 || Number(s) > max) throw new MalformedFrameError(`header ${name}="${s.slice(0, 32)}" is not an integer in 1..${max}`, 'headers');
  return Number(s);
}

export interface DecodedFrame {
  camera: string;
  captureTs: number;
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** The size frames are brought to; `crop` keeps the aspect ratio and cuts the centre (config `decode.fit`). */
export interface FrameResize {
  readonly width: number;
  readonly height: number;
  readonly fit?: 'stretch' | 'crop';
}

/** Decodes one message into RGB (optionally resized); throws MalformedFrameError. */
export async function decodeFrameMessage(message: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'timestamp'>, resize?: FrameResize): Promise<DecodedFrame> {
  const key = message.key?.toString('utf8');
  const id = CameraIdSchema.safeParse(key);
  if (!id.success) throw new MalformedFrameError(`key must be a camera id (got ${key === undefined ? 'none' : JSON.stringify(key.slice(0, 64))})`, 'key');
  const value = message.value;
  if (value === null || value.length === 0) throw new MalformedFrameError('empty value', 'size');
  const width = intHeader(message.headers, FRAME_HEADERS.width, 8192);
  const height = intHeader(message.headers, FRAME_HEADERS.height, 8192);
  const format = header(message.headers, FRAME_HEADERS.format)?.toLowerCase();
  if (format !== undefined && !['rgb', 'jpeg', 'jpg', 'png'].includes(format)) throw new MalformedFrameError(`header format="${format.slice(0, 16)}" is not rgb, jpeg or png`, 'headers');
  const tsText = header(message.headers, FRAME_HEADERS.ts);
  const captureTs = tsText === undefined ? Number(message.timestamp) : Number(tsText);
  if (!Number.isFinite(captureTs) || captureTs <= 0) throw new MalformedFrameError(`header ts="${String(tsText).slice(0, 32)}" is not epoch milliseconds`, 'headers');

  const raw = format === 'rgb' || (format === undefined && width !== undefined && height !== undefined && value.length === width * height * 3);
  let img: ReturnType<typeof sharp>;
  if (raw) {
    if (width === undefined || height === undefined) throw new MalformedFrameError('raw RGB needs width and height headers', 'headers');
    if (value.length !== width * height * 3) throw new MalformedFrameError(`raw RGB of ${width}x${height} needs ${width * height * 3} bytes, got ${value.length}`, 'size');
    if (resize === undefined || (resize.width === width && resize.height === height)) {
      return { camera: id.data, captureTs, width, height, rgb: new Uint8Array(value.buffer, value.byteOffset, value.length) };
    }
    img = sharp(value, { raw: { width, height, channels: 3 } });
  } else img = sharp(value, { failOn: 'error' });
  try {
    // `crop` as the ffmpeg sources do it: cover the size, keep the centre (sharp's default position).
    if (resize !== undefined) img = img.resize(resize.width, resize.height, { fit: resize.fit === 'crop' ? 'cover' : 'fill' });
    const { data, info } = await img.toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { camera: id.data, captureTs, width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    throw new MalformedFrameError(`not a decodable image: ${(err as Error).message}`, 'image');
  }
}

/** Counts a malformed message and copies it to the dead-letter topic with an `error` header; never throws. */
async function deadLetter(to: { dlq: Producer; topic: string; instrumentation?: Instrumentation; log?: Logger }, message: KafkaMessage, err: MalformedFrameError): Promise<void> {
  to.instrumentation?.emit('source.malformed', { reason: err.reason });
  to.log?.warn({ reason: err.reason, error: err.message }, 'malformed frame message sent to the dead-letter topic');
  try {
    await to.dlq.connect();
    await to.dlq.send({
      topic: to.topic,
      messages: [{ key: message.key, value: message.value, headers: { ...(message.headers ?? {}), [FRAME_HEADERS.error]: err.message } }],
    });
  } catch (e) {
    to.log?.error({ err: e }, 'could not write to the dead-letter topic');
  }
}

export interface KafkaFramesOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** Workers sharing a group id split the topic's partitions (scale-out). */
  readonly groupId: string;
  readonly sessionTimeoutMs?: number;
  readonly deadLetterTopic: string;
  /** Resize every frame to this size (sharp), like the ffmpeg sources do. */
  readonly resize?: FrameResize;
  readonly fromBeginning?: boolean;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
  /** Called once the consumer has joined its group and got partitions. */
  readonly onReady?: () => void;
  /**
   * At-least-once: offsets are committed (every `commitIntervalMs` and on unsubscribe) only past
   * frames `offsets` says are done (their windows delivered). Absent: kafkajs auto-commits as frames are consumed.
   */
  readonly offsets?: FrameOffsets;
  readonly commitIntervalMs?: number;
  /** Gets the promise of the last commit and disconnect, when unsubscribed. */
  readonly onStopping?: (stopped: Promise<void>) => void;
}

/**
 * Frames from a Kafka topic (see FRAME_HEADERS for the message format), all cameras in one stream.
 * Per camera, `seq` counts the frames this worker received. The consumer connects on subscribe and
 * disconnects on unsubscribe; kafkajs reconnects by itself across broker restarts, and a consumer
 * that never connected or that kafkajs gave up on is replaced (superviseConsumer), so the stream
 * never ends on a Kafka fault; the connection state goes to `kafka.connection` events.
 */
export function kafkaFrames(opts: KafkaFramesOptions): Observable<Frame> {
  return new Observable<Frame>((subscriber) => {
    const log = opts.logger?.child({ component: 'kafka-frames', topic: opts.topic });
    // Connected on the first malformed message, so an unreachable broker never blocks the frames consumer.
    const dlq: Producer = opts.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true, retry: { retries: 5 } });
    const seqs = new Map<string, number>();
    const { offsets } = opts;
    let closed = false;
    let readySignalled = false;
    let consumer: Consumer | undefined;

    const eachMessage = async ({ partition, message }: EachMessagePayload): Promise<void> => {
      if (closed) return;
      let decoded: DecodedFrame;
      try {
        decoded = await decodeFrameMessage(message, opts.resize);
      } catch (err) {
        if (!(err instanceof MalformedFrameError)) throw err;
        await deadLetter({ dlq, topic: opts.deadLetterTopic, instrumentation: opts.instrumentation, log }, message, err);
        return offsets?.consumed(partition, message.offset);
      }
      if (closed) return;
      const seq = seqs.get(decoded.camera) ?? 0;
      seqs.set(decoded.camera, seq + 1);
      offsets?.consumed(partition, message.offset, decoded);
      opts.instrumentation?.emit('source.frame', { camera: decoded.camera, source: 'kafka', captureTs: decoded.captureTs });
      subscriber.next({ ...decoded, seq });
    };

    const committer = offsets === undefined ? undefined : startCommitter({ offsets, topic: opts.topic, consumer: () => consumer, intervalMs: opts.commitIntervalMs, logger: log });

    // A consumer that cannot connect, or that kafkajs gave up on, is replaced after a back-off.
    const supervised = superviseConsumer({
      component: 'kafka-frames',
      make: () => opts.kafka.consumer({ groupId: opts.groupId, retry: FOREVER_CONSUMER_RETRY, ...(opts.sessionTimeoutMs === undefined ? {} : { sessionTimeout: opts.sessionTimeoutMs }) }),
      start: async (c) => {
        consumer = c;
        // A rejoin may move partitions to another worker: what it no longer owns is not ours to commit.
        c.on(c.events.GROUP_JOIN, (e) => offsets?.forget((p) => (e.payload.memberAssignment[opts.topic] ?? []).includes(p)));
        await c.connect();
        await c.subscribe({ topic: opts.topic, fromBeginning: opts.fromBeginning ?? false });
        await c.run({ eachMessage, autoCommit: offsets === undefined });
        log?.info({ groupId: opts.groupId }, 'consuming frames');
      },
      onJoin: () => {
        if (!readySignalled) {
          readySignalled = true;
          opts.onReady?.();
        }
      },
      instrumentation: opts.instrumentation,
      logger: log,
    });

    return () => {
      closed = true;
      const stopped = (committer?.stop() ?? Promise.resolve()).then(() => supervised.stop());
      opts.onStopping?.(stopped);
      void dlq.disconnect().catch(() => undefined);
    };
  });
}

export interface KafkaFrameIntake {
  /** Resolves once the consumer joined its group. */
  readonly ready: Promise<void>;
  /** A window of `camera` starting at `windowStart` (capture time) was delivered: its earlier frames may be committed. */
  delivered(camera: string, windowStart: number): void;
  /** Stops passing frames on (shutdown): they stay uncommitted and are read again after a restart. */
  pause(): void;
  /** Commits what was delivered, then disconnects. */
  stop(): Promise<void>;
}

/** Consumes `kafkaFrames` into `frames` (the pipeline's input) until stopped, at-least-once; failures are logged. */
export function startKafkaFrames(opts: Omit<KafkaFramesOptions, 'onReady' | 'offsets' | 'onStopping'> & { frames: { next(frame: Frame): void } }): KafkaFrameIntake {
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const offsets = new FrameOffsets();
  let paused = false;
  let stopped: Promise<void> = Promise.resolve();
  const sub = kafkaFrames({ ...opts, onReady, offsets, onStopping: (p) => (stopped = p) }).subscribe({
    next: (f) => {
      if (!paused) opts.frames.next(f);
    },
    error: (err: unknown) => opts.logger?.error({ err }, 'Kafka frame source failed'),
  });
  return {
    ready,
    delivered: (camera, windowStart) => offsets.delivered(camera, windowStart),
    pause: () => (paused = true),
    stop: () => {
      sub.unsubscribe();
      return stopped;
    },
  };
}
