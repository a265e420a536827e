/**
 * An ingest process's sampled frames to the frames topic (key = camera id; JPEG or raw RGB; headers
 * FLEET_FRAME_HEADERS). Each opening of a camera is a session with its own id, whose frames are
 * numbered 0, 1, 2… without gaps: when the camera's buffer is full because the broker is away, a
 * new frame is dropped before it gets a number (counted as `queue.dropped`, stage `publish`), so
 * an infer process never waits for a frame that was never sent.
 *
 * One pump sends the buffer in order with an idempotent producer (`acks: -1`, one request in
 * flight); a batch leaves the buffer only once acknowledged, and the pump retries with back-off
 * (recreating the producer now and then) for as long as the broker is away.
 */
import { hostname } from 'node:os';
import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import sharp from 'sharp';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { backoffDelay } from '../lifecycle/backoff.js';
import { connectionReporter } from '../sources/kafka-connection.js';
import type { CameraStatus, Frame } from '../types.js';
import { FLEET_FRAME_HEADERS } from './records.js';

export interface FramePublisherOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly format: 'jpeg' | 'rgb';
  readonly jpegQuality: number;
  /** Frames held per camera while the broker is away (`fleet.ingestBufferFrames`). */
  readonly bufferFrames: number;
  /** Bytes per produce request, under the broker's default 1 MB batch limit. */
  readonly maxBatchBytes?: number;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
}

interface Pending {
  readonly camera: string;
  /** Encoding runs while earlier frames are sent; resolved in order by the pump. */
  readonly message: Promise<Message>;
}

interface Session {
  readonly id: string;
  next: number;
}

const processTag = `${hostname()}-${process.pid}`;
let sessionCount = 0;

/** A unique id for one opening of a camera by this process. */
export function newSessionId(now: number = Date.now()): string {
  return `${processTag}-${now.toString(36)}-${(sessionCount++).toString(36)}`;
}

async function encode(frame: Frame, format: 'jpeg' | 'rgb', quality: number): Promise<{ value: Buffer; format: 'jpeg' | 'rgb' }> {
  const raw = Buffer.from(frame.rgb.buffer, frame.rgb.byteOffset, frame.rgb.byteLength);
  if (format === 'rgb') return { value: raw, format };
  try {
    return { value: await sharp(raw, { raw: { width: frame.width, height: frame.height, channels: 3 } }).jpeg({ quality }).toBuffer(), format };
  } catch {
    // The frame already has its number: sent raw rather than leave a gap.
    return { value: raw, format: 'rgb' };
  }
}

export class FramePublisher {
  private readonly queue: Pending[] = [];
  private readonly depth = new Map<string, number>();
  private readonly sessions = new Map<string, Session>();
  private producer: Producer;
  private connected = false;
  private pumping = false;
  private closed = false;
  private readonly report: ReturnType<typeof connectionReporter>;
  private readonly log: Logger | undefined;
  /** Acknowledged frames (tests, logs). */
  sent = 0;

  constructor(private readonly opts: FramePublisherOptions) {
    this.log = opts.logger?.child({ component: 'kafka-frames-out', topic: opts.topic });
    this.report = connectionReporter('kafka-frames-out', opts.instrumentation, this.log);
    this.producer = this.makeProducer();
    this.report('connecting');
    void this.pump();
  }

  private makeProducer(): Producer {
    return this.opts.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1, retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 } });
  }

  /** Starts a new session for `camera` (numbering from 0); returns its id. */
  openSession(camera: string): string {
    const id = newSessionId();
    this.sessions.set(camera, { id, next: 0 });
    return id;
  }

  /** Ends the camera's session; its frames already buffered are still sent. */
  endSession(camera: string): void {
    this.sessions.delete(camera);
  }

  /** Frames of `camera` waiting for the broker. */
  buffered(camera: string): number {
    return this.depth.get(camera) ?? 0;
  }

  /** Numbers and buffers one frame of an open session; false when it was dropped (buffer full, no session). */
  publish(frame: Frame, state: CameraStatus): boolean {
    const session = this.sessions.get(frame.camera);
    if (this.closed || session === undefined) return false;
    const depth = this.buffered(frame.camera);
    if (depth >= this.opts.bufferFrames) {
      this.opts.instrumentation?.emit('queue.dropped', { stage: 'publish', camera: frame.camera, count: 1 });
      return false;
    }
    const seq = session.next++;
    const message = encode(frame, this.opts.format, this.opts.jpegQuality).then(({ value, format }) => ({
      key: frame.camera,
      value,
      headers: {
        [FLEET_FRAME_HEADERS.width]: String(frame.width),
        [FLEET_FRAME_HEADERS.height]: String(frame.height),
        [FLEET_FRAME_HEADERS.format]: format,
        [FLEET_FRAME_HEADERS.ts]: String(Math.round(frame.captureTs)),
        [FLEET_FRAME_HEADERS.seq]: String(seq),
        [FLEET_FRAME_HEADERS.session]: session.id,
        [FLEET_FRAME_HEADERS.state]: state,
      },
    }));
    this.queue.push({ camera: frame.camera, message });
    this.setDepth(frame.camera, depth + 1);
    if (!this.pumping) void this.pump();
    return true;
  }

  private setDepth(camera: string, depth: number): void {
    if (depth === 0) this.depth.delete(camera);
    else this.depth.set(camera, depth);
    this.opts.instrumentation?.emit('queue.depth', { stage: 'publish', camera, depth });
  }

  /** The head of the queue up to the byte bound (at least one frame). */
  private async nextBatch(): Promise<Message[]> {
    const limit = this.opts.maxBatchBytes ?? 900_000;
    const batch: Message[] = [];
    let bytes = 0;
    for (const p of this.queue) {
      const m = await p.message;
      const size = (m.value as Buffer).length;
      if (batch.length > 0 && bytes + size > limit) break;
      batch.push(m);
      bytes += size;
    }
    return batch;
  }

  private acknowledged(n: number): void {
    for (const p of this.queue.splice(0, n)) this.setDepth(p.camera, this.buffered(p.camera) - 1);
    this.sent += n;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    let failures = 0;
    try {
      while (!this.closed && (!this.connected || this.queue.length > 0)) {
        let batch: Message[] = [];
        try {
          if (!this.connected) {
            await this.producer.connect();
            this.connected = true;
          }
          batch = await this.nextBatch();
          if (batch.length > 0) await this.producer.send({ topic: this.opts.topic, acks: -1, messages: batch });
          this.acknowledged(batch.length);
          this.report('connected');
          failures = 0;
        } catch (err) {
          failures++;
          await this.failed(err, batch, failures);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async failed(err: unknown, batch: Message[], failures: number): Promise<void> {
    if ((err as { type?: string }).type === 'MESSAGE_TOO_LARGE' && batch.length === 1) {
      // Retrying cannot help: the frame is bigger than the broker takes (raw RGB of a large decode size).
      this.log?.error({ camera: String(batch[0]!.key), bytes: (batch[0]!.value as Buffer).length }, 'frame larger than the broker accepts, dropped: use fleet.frameFormat jpeg or a smaller decode size');
      this.opts.instrumentation?.emit('queue.dropped', { stage: 'publish', camera: String(batch[0]!.key), count: 1 });
      this.acknowledged(1);
      return;
    }
    this.report('disconnected', err);
    if (batch.length > 0) this.opts.instrumentation?.emit('fault.retried', { component: 'kafka-frames-out', reason: 'send' });
    if (failures === 1 || failures % 10 === 0) this.log?.warn({ err, failures, buffered: this.queue.length }, 'frames: send failed, retrying');
    // A producer that failed repeatedly may hold dead connections: start afresh.
    if (failures % 3 === 0) {
      const old = this.producer;
      this.producer = this.makeProducer();
      this.connected = false;
      void old.disconnect().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, backoffDelay(failures, { initialMs: 200, maxMs: 5000, jitter: 0.2 })));
  }

  /** Waits until every buffered frame is acknowledged or `timeoutMs` passed; resolves with how many are left. */
  async flush(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.queue.length;
  }

  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return;
    const left = await this.flush(timeoutMs);
    this.closed = true;
    if (left > 0) this.log?.warn({ left }, 'frames publisher closed with frames not delivered');
    await this.producer.disconnect().catch(() => undefined);
  }
}
