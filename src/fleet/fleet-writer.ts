/**
 * The gateway's writes to the fleet's control topics (cameras, vocabulary): one record at a time,
 * each awaited until the broker acknowledged it (all in-sync replicas), so an HTTP answer of
 * success means the change is in the topic. A broker that cannot be reached is a 503: the caller
 * may try again; nothing is buffered behind its back.
 */
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { NotReadyError } from '../errors.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { connectionReporter } from '../sources/kafka-connection.js';
import { redactText } from '../sources/redact.js';

export interface FleetWriterOptions {
  readonly kafka: Kafka;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
}

/** Writes one record; resolves with its offset once acknowledged. */
export interface RecordWriter {
  write(topic: string, key: string, value: string | null): Promise<string>;
}

export class FleetWriter implements RecordWriter {
  private readonly producer: Producer;
  private connecting: Promise<void> | undefined;
  private readonly report: ReturnType<typeof connectionReporter>;

  constructor(private readonly opts: FleetWriterOptions) {
    // The default partitioner of every gateway: a camera's tombstone lands in the partition of its record.
    // Few retries: a person waits for the answer, and may try again.
    this.producer = opts.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, retry: { retries: 4, initialRetryTime: 300, maxRetryTime: 3000 } });
    this.report = connectionReporter('kafka-control', opts.instrumentation, opts.logger);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  async write(topic: string, key: string, value: string | null): Promise<string> {
    try {
      await this.connect();
      const [meta] = await this.producer.send({ topic, acks: -1, messages: [{ key, value }] });
      this.report('connected');
      return meta?.baseOffset ?? meta?.offset ?? '-1';
    } catch (err) {
      this.report('disconnected', err);
      const why = redactText(err instanceof Error ? err.message : String(err));
      throw new NotReadyError(`could not write to Kafka topic ${topic}: ${why}; try again`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}
