/**
 * One ffmpeg process, the only place that spawns one for a source: always with an argument array
 * (a URL is never seen by a shell), stderr read line by line with a redacted tail of the lines
 * that explain a failure, and an exit that is one promise whether ffmpeg ran, crashed or never
 * started. Cameras and video files both run through it.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { SourceError } from '../../errors.js';
import { redactText } from '../redact.js';
import { LineSplitter } from './lines.js';

export interface FfmpegExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started (ENOENT: no such binary) or failed as a process. */
  readonly spawnError?: NodeJS.ErrnoException;
}

export interface FfmpegProcessOptions {
  /** Every complete stderr line, in order. */
  readonly onStderrLine?: (line: string) => void;
  /** Which lines are kept for `tail()`; default every non-blank line. */
  readonly keepLine?: (line: string) => boolean;
  /** How many kept lines `tail()` holds. Default 20. */
  readonly tailLines?: number;
}

/** A wedged network read may ignore SIGTERM; this long after it, SIGKILL. */
const KILL_GRACE_MS = 2000;

/** ffmpeg processes of this Node process whose pipes are still open: the resource-bound gauge. */
let openProcesses = 0;
export function openFfmpegProcesses(): number {
  return openProcesses;
}

export class FfmpegProcess {
  private readonly kept: string[] = [];
  private readonly lines: LineSplitter;
  /** Resolves on 'close' (both pipes drained, so the last frames and lines are in) or on a spawn error. */
  readonly exited: Promise<FfmpegExit>;

  private constructor(
    private readonly child: ChildProcessByStdio<null, Readable, Readable>,
    private readonly opts: FfmpegProcessOptions,
  ) {
    this.lines = new LineSplitter((l) => this.onLine(l));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => this.lines.write(s));
    openProcesses++;
    this.exited = new Promise<FfmpegExit>((resolve) => {
      child.on('error', (spawnError: NodeJS.ErrnoException) => resolve({ code: null, signal: null, spawnError }));
      child.once('close', (code, signal) => {
        this.lines.end();
        resolve({ code, signal });
      });
    }).finally(() => openProcesses--);
  }

  /** @throws SourceError (fatal) when Node refuses the arguments outright. */
  static spawn(binary: string, args: readonly string[], opts: FfmpegProcessOptions = {}): FfmpegProcess {
    try {
      return new FfmpegProcess(spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true }), opts);
    } catch (err) {
      throw new SourceError(`cannot start ffmpeg (${binary}): ${redactText((err as Error).message)}`, false, { cause: err });
    }
  }

  /**
   * rawvideo output. Read it (attach a listener, or start iterating) in the tick that spawned the
   * process: Node discards the unread stdout of a child whose exit it has handled (flushStdio).
   */
  get stdout(): Readable {
    return this.child.stdout;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last kept stderr lines, credentials redacted. */
  tail(): string[] {
    return this.kept.map(redactText);
  }

  /** Stops ffmpeg (no-op once it has exited); SIGTERM escalates to SIGKILL if it lingers. */
  kill(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): void {
    if (!this.running) return;
    const child = this.child;
    child.kill(signal);
    if (signal === 'SIGKILL') return;
    const t = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    t.unref();
    child.once('exit', () => clearTimeout(t));
  }

  private onLine(line: string): void {
    this.opts.onStderrLine?.(line);
    if (!(this.opts.keepLine ?? ((l: string) => l.trim().length > 0))(line)) return;
    this.kept.push(line);
    if (this.kept.length > (this.opts.tailLines ?? 20)) this.kept.shift();
  }
}

/** Why an ffmpeg run ended, as one line: "code 1", "SIGKILL". */
export function describeExit(exit: FfmpegExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}
