import { spawn, type ChildProcess } from 'node:child_process';
import { Observable, asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import type { Logger } from 'pino';
import type { CameraConfig, SupervisionConfig } from '../../config/schema.js';
import type { CameraState, CameraStatus, Frame } from '../types.js';
import { redactText, redactUrl } from './redact.js';

/** A camera source emits frames and, interleaved, its supervision state changes. */
export type CameraEvent = Frame | CameraState;

export function isCameraState(e: CameraEvent): e is CameraState {
  return (e as CameraState).status !== undefined;
}

export interface CameraSourceOptions {
  /** Frames sampled per second (ffmpeg's fps filter, so unwanted frames never reach Node). */
  readonly fps: number;
  /** Output size; scaling happens inside ffmpeg. */
  readonly width: number;
  readonly height: number;
  readonly ffmpegPath: string;
  readonly supervision: SupervisionConfig;
  /** Timers (watchdog, backoff) and capture timestamps. Default asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** For jitter; default Math.random. */
  readonly random?: () => number;
  readonly logger?: Logger;
  /** Read file inputs at their native rate (`-re`) so a file behaves like a camera. Default true. */
  readonly realtime?: boolean;
}

/** Network inputs are live: their ffmpeg exiting means "reconnect", never "done". */
export function isLiveUrl(url: string): boolean {
  return /^(rtsps?|rtmps?|rtp|srt|udp|tcp|https?|mms|mmsh):\/\//i.test(url);
}

/**
 * ffmpeg's arguments (an array: the URL is never interpreted by a shell). `lavfi:<graph>` opens a
 * synthetic source (e.g. `lavfi:testsrc=size=64x48:rate=10`), handy for demos and tests.
 */
export function ffmpegArgs(url: string, o: { fps: number; width: number; height: number; realtime?: boolean }): string[] {
  const input: string[] = [];
  if (/^rtsps?:\/\//i.test(url)) input.push('-rtsp_transport', 'tcp');
  let src = url;
  if (url.startsWith('lavfi:')) {
    input.push('-f', 'lavfi');
    src = url.slice('lavfi:'.length);
  }
  if (!isLiveUrl(url) && (o.realtime ?? true)) input.push('-re');
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    ...input,
    '-i', src,
    '-an', '-sn', '-dn',
    '-vf', `fps=${o.fps},scale=${o.width}:${o.height}`,
    '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1',
  ];
}

/** Exponential backoff, `attempt` from 1, scaled by a random factor in [1-jitter, 1+jitter], capped. */
export function backoffDelay(attempt: number, b: SupervisionConfig['backoff'], random: () => number = Math.random): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(0, Math.min(b.maxMs, Math.round(base * (1 + b.jitter * (2 * random() - 1)))));
}

/**
 * One camera through ffmpeg, supervised:
 *
 *   connecting ──first frame──▶ streaming ──no frame for stallTimeoutSec──▶ stalled ─┐
 *        │                          │                                              ▼
 *        └──────ffmpeg exits────────┴──────────────────────────────────────▶ reconnecting
 *   reconnecting ──backoff, restart ffmpeg, first frame──▶ streaming
 *
 * `stopped` is emitted when a finite input (a file) ends, or when ffmpeg cannot be started at all;
 * the stream then completes. Backoff grows per failed attempt and resets once frames flow again.
 * Unsubscribing kills ffmpeg. URLs are redacted in every state reason and log line.
 */
export function cameraFrames(camera: CameraConfig, opts: CameraSourceOptions): Observable<CameraEvent> {
  return new Observable<CameraEvent>((subscriber) => {
    const scheduler = opts.scheduler ?? asyncScheduler;
    const random = opts.random ?? Math.random;
    const frameBytes = opts.width * opts.height * 3;
    const stallMs = opts.supervision.stallTimeoutSec * 1000;
    const connectMs = opts.supervision.connectTimeoutSec * 1000;
    const safeUrl = redactUrl(camera.url);
    const log = opts.logger?.child({ camera: camera.id });
    const live = isLiveUrl(camera.url) || camera.url.startsWith('lavfi:');

    let proc: ChildProcess | undefined;
    let status: CameraStatus | undefined;
    let attempt = 0;
    let seq = 0;
    let pending: Buffer | undefined;
    let filled = 0;
    let stderrTail = '';
    let watchdog: Subscription | undefined;
    let retry: Subscription | undefined;
    let done = false;

    const setState = (next: CameraStatus, reason?: string): void => {
      status = next;
      const state: CameraState = { camera: camera.id, status: next, since: scheduler.now(), attempt, ...(reason === undefined ? {} : { reason }) };
      log?.info({ status: next, attempt, reason }, `camera ${camera.id}: ${next}`);
      subscriber.next(state);
    };

    /** Until the first frame of a (re)start the connect timeout applies, then the stall timeout. */
    const armWatchdog = (): void => {
      watchdog?.unsubscribe();
      const streaming = status === 'streaming';
      const ms = streaming ? stallMs : connectMs;
      watchdog = scheduler.schedule(() => {
        if (done) return;
        const why = `no frame for ${ms / 1000}s`;
        if (streaming) setState('stalled', why);
        kill();
        scheduleRestart(streaming ? `stalled: ${why}` : `no first frame within ${ms / 1000}s`);
      }, ms);
    };

    const kill = (): void => {
      const p = proc;
      proc = undefined;
      if (p === undefined) return;
      p.stdout?.removeAllListeners('data');
      p.removeAllListeners('exit');
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGTERM');
        // ffmpeg normally exits at once on SIGTERM; a wedged network read may not.
        const t = setTimeout(() => p.kill('SIGKILL'), 2000);
        t.unref();
        p.once('exit', () => clearTimeout(t));
      }
    };

    const scheduleRestart = (reason: string): void => {
      if (done) return;
      watchdog?.unsubscribe();
      attempt += 1;
      setState('reconnecting', reason);
      const delay = backoffDelay(attempt, opts.supervision.backoff, random);
      retry = scheduler.schedule(() => start(), delay);
    };

    const stop = (reason: string): void => {
      if (done) return;
      setState('stopped', reason);
      done = true;
      watchdog?.unsubscribe();
      kill();
      subscriber.complete();
    };

    const onData = (chunk: Buffer): void => {
      let off = 0;
      while (off < chunk.length) {
        pending ??= Buffer.allocUnsafe(frameBytes);
        const n = Math.min(frameBytes - filled, chunk.length - off);
        chunk.copy(pending, filled, off, off + n);
        filled += n;
        off += n;
        if (filled === frameBytes) {
          const rgb = new Uint8Array(pending.buffer, pending.byteOffset, frameBytes);
          pending = undefined;
          filled = 0;
          if (status !== 'streaming') {
            attempt = 0;
            setState('streaming');
          }
          armWatchdog();
          subscriber.next({ camera: camera.id, seq: seq++, captureTs: scheduler.now(), width: opts.width, height: opts.height, rgb });
          if (done) return; // a consumer unsubscribed synchronously
        }
      }
    };

    function start(): void {
      if (done) return;
      pending = undefined;
      filled = 0;
      stderrTail = '';
      if (status === undefined) setState('connecting');
      const args = ffmpegArgs(camera.url, opts);
      log?.debug({ url: safeUrl }, 'starting ffmpeg');
      let p: ChildProcess;
      try {
        p = spawn(opts.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        stop(`cannot start ffmpeg: ${redactText((err as Error).message)}`);
        return;
      }
      proc = p;
      p.stdout!.on('data', onData);
      p.stderr!.on('data', (d: Buffer) => {
        stderrTail = (stderrTail + d.toString()).slice(-2000);
      });
      p.on('error', (err: NodeJS.ErrnoException) => {
        if (p !== proc) return;
        // ENOENT/EACCES: no ffmpeg binary; retrying cannot help.
        if (err.code === 'ENOENT' || err.code === 'EACCES') stop(`cannot start ffmpeg (${opts.ffmpegPath}): ${err.code}`);
        else {
          kill();
          scheduleRestart(`ffmpeg error: ${redactText(err.message)}`);
        }
      });
      p.on('exit', (code, signal) => {
        if (p !== proc) return;
        proc = undefined;
        const lastLine = redactText(stderrTail.trim().split('\n').pop() ?? '').replaceAll(camera.url, safeUrl);
        if (!live && code === 0) {
          stop('end of input');
          return;
        }
        scheduleRestart(`ffmpeg exited (${signal ?? `code ${code}`})${lastLine ? `: ${lastLine}` : ''}`);
      });
      armWatchdog();
    }

    start();
    return () => {
      done = true;
      watchdog?.unsubscribe();
      retry?.unsubscribe();
      kill();
    };
  });
}
