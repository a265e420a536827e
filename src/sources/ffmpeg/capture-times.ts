import type { SchedulerLike, Subscription } from 'rxjs';
import type { ShowinfoReader } from './showinfo.js';

/** How long a complete frame waits for its showinfo line (stderr may lag stdout) before its time is estimated. */
const PTS_GRACE_MS = 100;

export interface CaptureTimesOptions {
  /** The sampled rate (ffmpeg's fps filter): the spacing of a frame whose line was lost. */
  readonly fps: number;
  /** pts are wall-clock epoch times (network inputs with `-use_wallclock_as_timestamps`). */
  readonly wallclock: boolean;
  readonly scheduler: SchedulerLike;
  /** Receives each frame with its capture time, in order. */
  readonly emit: (rgb: Uint8Array, captureTs: number) => void;
}

/**
 * Gives one ffmpeg process's frames their capture times, from ffmpeg (showinfo's pts of each
 * output frame), not from when the bytes reach Node: after the RTSP probe, seconds of buffered
 * frames arrive in one burst. Wall-clock inputs keep their pts; files and other inputs are
 * anchored at the first frame's arrival plus their pts. A frame waits up to PTS_GRACE_MS for its
 * line; a frame whose line never comes gets the previous time plus one period (its arrival time
 * before any line came), and times never go backwards.
 */
export class CaptureTimes {
  private waiting: Array<{ n: number; rgb: Uint8Array; arrival: number }> = [];
  private frameNo = 0;
  private anchor: number | undefined;
  /** Whether this process has reported any frame time yet. */
  private timed = false;
  private lastTs = -Infinity;
  private grace: Subscription | undefined;
  private disposed = false;

  constructor(
    private readonly showinfo: ShowinfoReader,
    private readonly opts: CaptureTimesOptions,
  ) {}

  /** The next output frame of the process (frames are numbered in arrival order). */
  push(rgb: Uint8Array): void {
    this.waiting.push({ n: this.frameNo++, rgb, arrival: this.opts.scheduler.now() });
    this.release();
  }

  /** Emits waiting frames in order once their time is known; `final`: the process is gone, time them all now. */
  release(final = false): void {
    this.grace?.unsubscribe();
    this.grace = undefined;
    while (this.waiting.length > 0 && !this.disposed) {
      const w = this.waiting[0];
      const pts = this.showinfo.take(w.n);
      if (pts === undefined && !final && this.showinfo.latest < w.n) {
        const left = w.arrival + PTS_GRACE_MS - this.opts.scheduler.now();
        if (left > 0) {
          this.grace = this.opts.scheduler.schedule(() => this.release(), left);
          return;
        }
      }
      this.waiting.shift();
      this.opts.emit(w.rgb, this.timeOf(w.arrival, pts));
    }
  }

  /** Drops waiting frames and timers (the consumer is gone). */
  dispose(): void {
    this.disposed = true;
    this.grace?.unsubscribe();
    this.waiting = [];
  }

  private timeOf(arrival: number, pts: number | undefined): number {
    let ts: number;
    if (pts !== undefined) {
      ts = this.opts.wallclock ? pts : (this.anchor ??= arrival - pts) + pts;
      this.timed = true;
    } else {
      // fps makes the output constant-rate, so a lost line is one period after the last frame.
      ts = this.timed ? this.lastTs + 1000 / this.opts.fps : arrival;
    }
    // Windows assume ordered frames; a fallback time must not jump back behind ffmpeg's.
    this.lastTs = Math.max(ts, this.lastTs);
    return this.lastTs;
  }
}
