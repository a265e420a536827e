/**
 * Supervision that wraps any FrameSource: connect timeout, stall watchdog, reconnects with
 * exponential back-off and jitter, and the camera's state machine:
 *
 *   connecting ──first frame──▶ streaming ──no frame for stallTimeoutSec──▶ stalled ─┐
 *        │                          │                                              ▼
 *        └──connection fails (retriable)──┴──────────────────────────────▶ reconnecting
 *   reconnecting ──backoff, connect again, first frame──▶ streaming
 *   reconnecting ──`failedAfter` failures in a row──▶ failed (retried all the same, at the capped back-off)
 *
 * `stopped` is emitted when the input ends for good (the source completes) or fails in a way a
 * retry cannot mend (a fatal error); the stream then completes. Back-off grows per failed attempt
 * and resets once frames flow again. Unsubscribing closes the connection.
 */
import { Observable, asyncScheduler, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import type { Logger } from 'pino';
import type { SupervisionConfig } from '../../config/schema.js';
import { classify } from '../errors.js';
import { backoffDelay } from '../lifecycle/backoff.js';
import type { CameraStatus } from '../types.js';
import type { CameraEvent, FrameSource, SourceFrame } from './frame-source.js';
import { redactText } from './redact.js';

export interface SupervisionOptions {
  readonly supervision: SupervisionConfig;
  /** Timers (watchdog, backoff). Default asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** For jitter; default Math.random. */
  readonly random?: () => number;
  readonly logger?: Logger;
}

export function supervise(camera: string, source: FrameSource, opts: SupervisionOptions): Observable<CameraEvent> {
  return new Observable<CameraEvent>((subscriber) => {
    const s = new Supervisor(camera, source, opts, subscriber);
    s.connect();
    return () => s.dispose();
  });
}

/** The state of one supervised camera; one instance per subscription. */
class Supervisor {
  private status: CameraStatus | undefined;
  private attempt = 0;
  private seq = 0;
  private lastTs = -Infinity;
  private done = false;
  private connection: Subscription | undefined;
  private watchdog: Subscription | undefined;
  private retry: Subscription | undefined;
  private readonly scheduler: SchedulerLike;
  private readonly log: Logger | undefined;

  constructor(
    private readonly camera: string,
    private readonly source: FrameSource,
    private readonly opts: SupervisionOptions,
    private readonly out: Subscriber<CameraEvent>,
  ) {
    this.scheduler = opts.scheduler ?? asyncScheduler;
    this.log = opts.logger?.child({ camera });
  }

  connect(): void {
    if (this.done) return;
    if (this.status === undefined) this.setState('connecting');
    this.armWatchdog();
    const connection = this.source.connect().subscribe({
      next: (f) => this.frame(f),
      error: (err: unknown) => this.failed(err),
      complete: () => this.stop('end of input'),
    });
    // A connection that failed synchronously is already closed; one we gave up meanwhile must go.
    if (this.done || connection.closed) connection.unsubscribe();
    else this.connection = connection;
  }

  dispose(): void {
    this.done = true;
    this.watchdog?.unsubscribe();
    this.retry?.unsubscribe();
    this.disconnect();
  }

  private frame(f: SourceFrame): void {
    if (this.done) return;
    // Windows assume ordered frames, also across reconnects.
    const captureTs = Math.max(f.captureTs, this.lastTs);
    this.lastTs = captureTs;
    if (this.status !== 'streaming') {
      // Streaming since its first frame was captured (during the probe, before it reached us),
      // so no window of the new connection starts before the state that announces it.
      this.attempt = 0;
      this.setState('streaming', undefined, captureTs);
    }
    this.armWatchdog();
    this.out.next({ camera: this.camera, seq: this.seq++, captureTs, width: f.width, height: f.height, rgb: f.rgb });
  }

  private failed(err: unknown): void {
    this.connection = undefined;
    const reason = redactText(err instanceof Error ? err.message : String(err));
    if (classify(err).retriable) this.reconnect(reason);
    else this.stop(reason);
  }

  /** Until the first frame of a connection the connect timeout applies, then the stall timeout. */
  private armWatchdog(): void {
    this.watchdog?.unsubscribe();
    const streaming = this.status === 'streaming';
    const sec = streaming ? this.opts.supervision.stallTimeoutSec : this.opts.supervision.connectTimeoutSec;
    this.watchdog = this.scheduler.schedule(() => {
      if (this.done) return;
      const why = `no frame for ${sec}s`;
      if (streaming) this.setState('stalled', why);
      this.disconnect();
      this.reconnect(streaming ? `stalled: ${why}` : `no first frame within ${sec}s`);
    }, sec * 1000);
  }

  private reconnect(reason: string): void {
    if (this.done) return;
    this.watchdog?.unsubscribe();
    this.attempt += 1;
    // Still retried, but told apart: a camera that keeps failing is an operator's problem.
    this.setState(this.attempt >= (this.opts.supervision.failedAfter ?? Infinity) ? 'failed' : 'reconnecting', reason);
    const delay = backoffDelay(this.attempt, this.opts.supervision.backoff, this.opts.random ?? Math.random);
    this.retry = this.scheduler.schedule(() => this.connect(), delay);
  }

  private stop(reason: string): void {
    if (this.done) return;
    this.setState('stopped', reason);
    this.dispose();
    this.out.complete();
  }

  private disconnect(): void {
    const c = this.connection;
    this.connection = undefined;
    c?.unsubscribe();
  }

  private setState(status: CameraStatus, reason?: string, now = this.scheduler.now()): void {
    this.status = status;
    // Windows are split at a state by capture time (src/stages/sliding-windows.ts), so the state is
    // dated after every frame delivered before it and the frames after it never earlier. ffmpeg may
    // date the last frames of a connection a little ahead of the exit that follows them (its fps
    // filter rounds to the next tick): dated `now`, such a frame would leave its window unfinished
    // and join the next connection's frames.
    // (Before the first frame there is nothing to split.)
    const split = status !== 'streaming' && this.lastTs > -Infinity;
    const since = split ? Math.max(now, this.lastTs + 1) : now;
    if (split) this.lastTs = since;
    const { camera, attempt } = this;
    this.log?.info({ status, attempt, reason }, `camera ${camera}: ${status}`);
    this.out.next({ camera, status, since, attempt, ...(reason === undefined ? {} : { reason }) });
  }
}
