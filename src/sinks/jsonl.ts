import { closeSync, createWriteStream, fstatSync, ftruncateSync, openSync, renameSync, type WriteStream } from 'node:fs';
import type { Logger } from 'pino';
import type { JsonlRotation } from '../../config/schema-reliability.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import type { OutputEvent, Sink } from './events.js';
import { pruneRotated, repairTornLine, rotatedName } from './jsonl-file.js';

export interface JsonlSinkOptions {
  /** A file path (appended to), or '-' for stdout. */
  readonly path: string;
  readonly rotation?: JsonlRotation;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
  /** Bytes the stream may hold unwritten before lines are dropped (counted) rather than buffered. */
  readonly maxPendingBytes?: number;
  /** After a write error (a full disk), lines are dropped for this long before the file is opened again. Default 1000. */
  readonly reopenAfterMs?: number;
  readonly now?: () => number;
}

/** The file being written: its own fd, so a write error can cut it back to whole lines. */
interface OpenFile {
  readonly fd: number;
  readonly stream: WriteStream;
  /** Bytes handed to the stream, and bytes known written (whole lines only). */
  queued: number;
  written: number;
  readonly openedAt: number;
  /** Closed once: a closed fd number may be reused by the next open. */
  fdClosed: boolean;
}

/**
 * One JSON message per line, to a file or stdout. A slow disk never slows the pipeline: past
 * `maxPendingBytes` of unwritten output, lines are dropped and counted. Only whole lines stay in the
 * file: a torn last line (a crash) is removed on start, and a failed write (ENOSPC) cuts the file
 * back to its last whole line; the error is counted (`sink.error`) and logged once per outage, lines
 * are dropped meanwhile, and the file is reopened a second later. The other sinks never notice.
 * With `rotation`, the file is renamed to `<path>.<UTC time>` by size or age and a new one begun.
 */
export class JsonlSink implements Sink {
  private file: OpenFile | undefined;
  private readonly maxPending: number;
  private readonly now: () => number;
  private closed = false;
  private reopenAt = 0;
  private failing = false;

  constructor(private readonly opts: JsonlSinkOptions) {
    this.maxPending = opts.maxPendingBytes ?? 16 << 20;
    this.now = opts.now ?? Date.now;
    if (opts.path !== '-') {
      repairTornLine(opts.path, opts.logger);
      this.open();
    }
  }

  publish(event: OutputEvent): void {
    if (this.closed) return;
    const line = event.json + '\n';
    if (this.opts.path === '-') return this.toStdout(line);
    if (this.file === undefined && this.now() >= this.reopenAt) this.open();
    const file = this.file;
    if (file === undefined) return this.drop('write_error');
    if (file.stream.writableLength > this.maxPending) return this.drop('backpressure');
    const bytes = Buffer.byteLength(line);
    if (this.dueForRotation(file, bytes)) return this.rotate(file) ? this.publish(event) : this.drop('write_error');
    file.queued += bytes;
    file.stream.write(line, (err) => {
      if (err) return;
      file.written += bytes;
      if (this.failing) {
        this.failing = false;
        this.opts.logger?.info({ path: this.opts.path }, 'jsonl sink: writing again');
      }
    });
    this.opts.instrumentation?.emit('sink.delivered', { sink: 'jsonl', count: 1 });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const file = this.file;
    this.file = undefined;
    if (file !== undefined) await this.finish(file);
  }

  private toStdout(line: string): void {
    if (process.stdout.writableLength > this.maxPending) return this.drop('backpressure');
    process.stdout.write(line);
    this.opts.instrumentation?.emit('sink.delivered', { sink: 'jsonl', count: 1 });
  }

  private drop(reason: string): void {
    this.opts.instrumentation?.emit('sink.dropped', { sink: 'jsonl', reason, count: 1 });
  }

  private open(): void {
    let fd: number | undefined;
    try {
      fd = openSync(this.opts.path, 'a');
      const st = fstatSync(fd);
      // autoClose off: on an error the fd must outlive the stream, to cut the file back.
      const stream = createWriteStream('', { fd, autoClose: false });
      const file: OpenFile = { fd, stream, queued: st.size, written: st.size, fdClosed: false, openedAt: st.size > 0 && st.birthtimeMs > 0 ? st.birthtimeMs : this.now() };
      stream.on('error', (err) => this.failed(file, err));
      this.file = file;
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      this.failed(undefined, err);
    }
  }

  /** A write or open failed: count it, log it once per outage, keep whole lines, retry later. */
  private failed(file: OpenFile | undefined, err: unknown): void {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    this.opts.instrumentation?.emit('sink.error', { sink: 'jsonl', code });
    if (!this.failing) this.opts.logger?.error({ err, code, path: this.opts.path }, `jsonl sink: cannot write (${code}); dropping lines (counted) and trying again every second; the other sinks go on`);
    this.failing = true;
    this.reopenAt = this.now() + (this.opts.reopenAfterMs ?? 1000);
    if (file === undefined) return;
    if (this.file === file) this.file = undefined;
    try {
      // A short write leaves part of a line: cut back to the last whole one.
      ftruncateSync(file.fd, file.written);
    } catch {
      /* the next start repairs it */
    }
    closeFd(file);
  }

  private dueForRotation(file: OpenFile, bytes: number): boolean {
    const r = this.opts.rotation;
    if (r === undefined || file.queued === 0) return false;
    return (r.maxBytes !== undefined && file.queued + bytes > r.maxBytes) || (r.everySec !== undefined && this.now() - file.openedAt >= r.everySec * 1000);
  }

  /** Renames the file away (lines still queued on its fd land in it, in order) and opens a new one. */
  private rotate(file: OpenFile): boolean {
    const to = rotatedName(this.opts.path, this.now());
    try {
      renameSync(this.opts.path, to);
    } catch (err) {
      this.failed(file, err);
      return false;
    }
    this.file = undefined;
    void this.finish(file);
    this.opts.logger?.info({ path: this.opts.path, rotatedTo: to, bytes: file.queued }, 'jsonl sink: rotated');
    if (this.opts.rotation?.keep !== undefined) pruneRotated(this.opts.path, this.opts.rotation.keep, this.opts.logger);
    this.open();
    return this.file !== undefined;
  }

  private async finish(file: OpenFile): Promise<void> {
    if (!file.stream.destroyed) await new Promise<void>((resolve) => file.stream.end(() => resolve()));
    closeFd(file);
  }
}

function closeFd(file: OpenFile): void {
  if (file.fdClosed) return;
  file.fdClosed = true;
  closeSync(file.fd);
}
