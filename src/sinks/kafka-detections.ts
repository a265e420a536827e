import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { ConnectionStatus, Instrumentation, KafkaComponent } from '../instrumentation/instrumentation.js';
import { connectionReporter } from '../sources/kafka-connection.js';
import { isSaslAuthenticationError } from '../sources/kafka-security.js';
import type { OutputEvent, Sink } from './events.js';

export interface KafkaDetectionsSinkOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** How its connection state is reported (default `kafka-detections`; an ingest process's camera states: `kafka-states`). */
  readonly component?: KafkaComponent;
  /** Messages held while the broker is unreachable; beyond it the oldest are dropped (counted). */
  readonly bufferSize?: number;
  /** Messages per produce request. */
  readonly maxBatch?: number;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
  /** Events the broker acknowledged, in order (Kafka frame offsets are committed after this). */
  readonly onAcknowledged?: (events: readonly OutputEvent[]) => void;
}

/**
 * Window results and detections to a Kafka topic: key = camera id (a camera's messages stay in
 * order in one partition), value = the JSON message, header `type` = its kind.
 *
 * Delivery is at-least-once across broker outages: `publish` only appends to a bounded buffer; one
 * pump sends it in order with an idempotent producer (`acks: -1`), and a batch leaves the buffer
 * only once the broker acknowledged it. While the broker is down the pump retries with backoff
 * (recreating the producer, as kafkajs can give up on a connection for good). Only when the buffer
 * bound is exceeded are the oldest messages dropped, and counted in
 * `actionclip_sink_dropped_total{sink="kafka"}`. Consumers should tolerate rare duplicates (a batch
 * the broker stored but whose acknowledgement was lost is sent again).
 */
export class KafkaDetectionsSink implements Sink {
  private readonly buffer: Message[] = [];
  private readonly events = new WeakMap<Message, OutputEvent>();
  private readonly bufferSize: number;
  private readonly maxBatch: number;
  private producer: Producer;
  private connected = false;
  private pumping = false;
  private closed = false;
  /** Acknowledged and dropped message counts (tests, logs). */
  sent = 0;
  dropped = 0;
  /** Failed send attempts after kafkajs' own retries (each retried here). */
  sendFailures = 0;
  /** Most messages ever waiting: more than a batch's worth means the broker was slow or away. */
  peakBuffered = 0;

  private readonly report: (status: ConnectionStatus, err?: unknown) => void;

  constructor(private readonly opts: KafkaDetectionsSinkOptions) {
    this.bufferSize = opts.bufferSize ?? 10_000;
    this.maxBatch = opts.maxBatch ?? 500;
    this.report = connectionReporter(opts.component ?? 'kafka-detections', opts.instrumentation, opts.logger?.child({ component: opts.component ?? 'kafka-detections', topic: opts.topic }));
    this.producer = this.makeProducer();
    // Connect now rather than at the first message, so /health shows an unreachable broker at once.
    this.report('connecting');
    void this.pump();
  }

  private makeProducer(): Producer {
    const producer = this.opts.kafka.producer({
      // kafkajs 2's default, named so that it does not log a notice about its change at every start.
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 },
    });
    producer.on(producer.events.DISCONNECT, () => {
      if (this.producer === producer && !this.closed) this.report('disconnected');
    });
    return producer;
  }

  get buffered(): number {
    return this.buffer.length;
  }

  publish(event: OutputEvent): void {
    if (this.closed) return;
    const message: Message = { key: event.camera, value: event.json, headers: { type: event.kind } };
    this.buffer.push(message);
    if (this.opts.onAcknowledged !== undefined) this.events.set(message, event);
    if (this.buffer.length > this.bufferSize) {
      const n = this.buffer.length - this.bufferSize;
      this.buffer.splice(0, n);
      this.dropped += n;
      this.opts.instrumentation?.emit('sink.dropped', { sink: 'kafka', reason: 'buffer_full', count: n });
    }
    this.peakBuffered = Math.max(this.peakBuffered, this.buffer.length);
    this.opts.instrumentation?.emit('sink.buffered', { sink: 'kafka', depth: this.buffer.length, limit: this.bufferSize });
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    const log = this.opts.logger?.child({ component: this.opts.component ?? 'kafka-detections', topic: this.opts.topic });
    let failures = 0;
    try {
      // Until connected (even with nothing to send, so the state is known), then while messages wait.
      while (!this.closed && (!this.connected || this.buffer.length > 0)) {
        const batch = this.buffer.slice(0, this.maxBatch);
        try {
          if (!this.connected) {
            await this.producer.connect();
            this.connected = true;
            this.report('connected');
          }
          if (batch.length === 0) continue;
          await this.producer.send({ topic: this.opts.topic, acks: -1, messages: batch });
          // Only now do the messages leave the buffer (drops may have shifted it meanwhile).
          const inBatch = new Set(batch);
          let n = 0;
          while (n < this.buffer.length && inBatch.has(this.buffer[n]!)) n++;
          this.buffer.splice(0, n);
          this.sent += batch.length;
          this.opts.onAcknowledged?.(batch.flatMap((m) => this.events.get(m) ?? []));
          this.opts.instrumentation?.emit('sink.delivered', { sink: 'kafka', count: batch.length });
          this.opts.instrumentation?.emit('sink.buffered', { sink: 'kafka', depth: this.buffer.length, limit: this.bufferSize });
          this.report('connected');
          if (failures > 0) log?.info({ failures }, 'kafka sink delivering again');
          failures = 0;
        } catch (err) {
          failures++;
          if (batch.length > 0) this.sendFailures++;
          this.report('disconnected', err);
          if (batch.length > 0) this.opts.instrumentation?.emit('fault.retried', { component: this.opts.component ?? 'kafka-detections', reason: isSaslAuthenticationError(err) ? 'auth' : 'send' });
          // Refused credentials are not an outage: say so at error level, where operators look, even
          // while idle; an idle connection attempt that fails is reported by the state alone.
          const refused = isSaslAuthenticationError(err);
          if ((refused || batch.length > 0) && (failures === 1 || failures % 10 === 0)) {
            if (refused) log?.error({ err, failures, buffered: this.buffer.length }, 'kafka sink: SASL authentication failed (check kafka.sasl credentials), retrying');
            else log?.warn({ err, failures, buffered: this.buffer.length }, 'kafka sink: send failed, retrying');
          }
          if (this.closed) return;
          // A producer that has failed repeatedly may hold dead connections or a fenced id: start afresh.
          if (failures % 3 === 0) {
            const old = this.producer;
            this.producer = this.makeProducer();
            this.connected = false;
            void old.disconnect().catch(() => undefined);
          }
          await this.sleep(Math.min(5000, 200 * 2 ** Math.min(failures, 5)));
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Waits until the buffer is empty or `timeoutMs` passed; resolves with what is left. */
  async flush(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.buffer.length;
  }

  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    const left = await this.flush(timeoutMs);
    this.closed = true;
    if (left > 0) {
      this.opts.instrumentation?.emit('sink.dropped', { sink: 'kafka', reason: 'shutdown', count: left });
      this.opts.logger?.warn({ left }, 'kafka sink closed with undelivered messages');
    }
    await this.producer.disconnect().catch(() => undefined);
  }
}
