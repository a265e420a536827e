import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from 'pino';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import type { OutputEvent, Sink } from './events.js';

export interface JsonlSinkOptions {
  /** A file path (appended to), or '-' for stdout. */
  readonly path: string;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
  /** Bytes the stream may hold unwritten before lines are dropped (counted) rather than buffered. */
  readonly maxPendingBytes?: number;
}

/**
 * One JSON message per line, to a file or stdout. A slow disk never slows the pipeline: past
 * `maxPendingBytes` of unwritten output, lines are dropped and counted.
 */
export class JsonlSink implements Sink {
  private readonly out: NodeJS.WritableStream;
  private readonly file?: WriteStream;
  private readonly maxPending: number;
  private closed = false;

  constructor(private readonly opts: JsonlSinkOptions) {
    this.maxPending = opts.maxPendingBytes ?? 16 << 20;
    if (opts.path === '-') this.out = process.stdout;
    else {
      this.file = createWriteStream(opts.path, { flags: 'a' });
      this.file.on('error', (err) => opts.logger?.error({ err, path: opts.path }, 'jsonl sink write failed'));
      this.out = this.file;
    }
  }

  publish(event: OutputEvent): void {
    if (this.closed) return;
    const pending = this.file?.writableLength ?? process.stdout.writableLength;
    if (pending > this.maxPending) {
      this.opts.instrumentation?.emit('sink.dropped', { sink: 'jsonl', reason: 'backpressure', count: 1 });
      return;
    }
    this.out.write(event.json + '\n');
    this.opts.instrumentation?.emit('sink.delivered', { sink: 'jsonl', count: 1 });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const file = this.file;
    if (file !== undefined) await new Promise<void>((resolve) => file.end(() => resolve()));
  }
}
