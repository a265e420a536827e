import { spawn, type ChildProcess } from 'node:child_process';
import { Observable, asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import type { Logger } from 'pino';
import type { CameraConfig, SupervisionConfig } from '../../config/schema.js';
import type { CameraState, CameraStatus, Frame } from '../types.js';
import { redactText, redactUrl } from './redact.js';
import { urlKind } from './url-kind.js';
import { isV4l2Url, v4l2Input } from './v4l2.js';

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

/**
 * ffmpeg's arguments (an array: the URL is never interpreted by a shell). `lavfi:<graph>` opens a
 * synthetic source (e.g. `lavfi:testsrc=size=64x48:rate=10`), handy for demos and tests.
 *
 * `showinfo` after fps/scale prints each output frame's pts on stderr (at info level, hence
 * `-loglevel level+info`: the level tag lets errors be told apart for exit reasons). `-vsync
 * passthrough` keeps output frames 1:1 with showinfo's `n:` so stdout frame k pairs with line n=k.
 */
export function ffmpegArgs(url: string, o: { fps: number; width: number; height: number; realtime?: boolean }): string[] {
  const input: string[] = [];
  const output: string[] = [];
  if (/^rtsps?:\/\//i.test(url)) input.push('-rtsp_transport', 'tcp');
  const kind = urlKind(url);
  if (kind.wallclock) {
    input.push('-use_wallclock_as_timestamps', '1');
    // Without it ffmpeg shifts timestamps to start at 0 and the wall-clock epoch is lost.
    output.push('-copyts');
  }
  let src = url;
  if (url.startsWith('lavfi:')) {
    input.push('-f', 'lavfi');
    src = url.slice('lavfi:'.length);
  } else if (isV4l2Url(url)) {
    const v = v4l2Input(url);
    input.push(...v.input);
    src = v.device;
  }
  if (!kind.live && (o.realtime ?? true)) input.push('-re');
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+info',
    ...input,
    '-i', src,
    ...output,
    '-an', '-sn', '-dn',
    '-vf', `fps=${o.fps},scale=${o.width}:${o.height},showinfo`,
    '-vsync', 'passthrough',
    '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1',
  ];
}

/** What one line of ffmpeg's stderr (with `-loglevel level+…`) says about frame times. */
export type StderrLine =
  | { kind: 'frame'; n: number; pts: number | undefined }
  | { kind: 'timebase'; num: number; den: number }
  | { kind: 'showinfo' }
  | { kind: 'log'; level: string; text: string };

const SHOWINFO = /^\[Parsed_showinfo_\d+ @ [^\]]*\]\s*(?:\[[a-z]+\]\s*)?(.*)$/;
const SHOWINFO_FRAME = /^n:\s*(\d+)\s+pts:\s*(-?\d+|NOPTS)\b/;
const SHOWINFO_TIMEBASE = /^config in time_base:\s*(\d+)\/(\d+)/;
const LEVEL = /^(?:\[[^\]]* @ [^\]]*\]\s*)?\[(quiet|panic|fatal|error|warning|info|verbose|debug|trace)\]\s?(.*)$/;

export function parseStderrLine(line: string): StderrLine {
  const si = SHOWINFO.exec(line);
  if (si !== null) {
    const body = si[1];
    const f = SHOWINFO_FRAME.exec(body);
    if (f !== null) return { kind: 'frame', n: Number(f[1]), pts: f[2] === 'NOPTS' ? undefined : Number(f[2]) };
    const tb = SHOWINFO_TIMEBASE.exec(body);
    if (tb !== null && Number(tb[1]) > 0 && Number(tb[2]) > 0) return { kind: 'timebase', num: Number(tb[1]), den: Number(tb[2]) };
    return { kind: 'showinfo' };
  }
  const lv = LEVEL.exec(line);
  return lv === null ? { kind: 'log', level: 'error', text: line } : { kind: 'log', level: lv[1], text: line.replace(/\[(?:quiet|panic|fatal|error|warning|info|verbose|debug|trace)\]\s?/, '') };
}

/**
 * Reads one ffmpeg process's stderr: remembers the pts (in ms) of frames that showinfo reported
 * and hands every other line to `onLog`. stderr and stdout are separate pipes, so a frame can be
 * read before its line (or, rarely, a line can be missing): lookups are by frame number, and
 * only a few pending entries are kept.
 */
export class ShowinfoReader {
  private partial = '';
  private readonly pts = new Map<number, number>();
  private num: number;
  private den: number;
  /** Highest frame number reported so far (-1: none). */
  latest = -1;

  constructor(
    fps: number,
    private readonly onLog: (level: string, text: string) => void = () => undefined,
    private readonly maxPending = 64,
  ) {
    // fps's output time base is 1/fps; showinfo's "config in time_base" line confirms or corrects it.
    this.num = 1;
    this.den = fps;
  }

  write(chunk: string): void {
    const text = this.partial + chunk;
    const lines = text.split(/\r?\n|\r/);
    // A line longer than this is not one of ours; dropping it keeps memory bounded.
    this.partial = (lines.pop() ?? '').slice(-4096);
    for (const line of lines) if (line.length > 0) this.line(line);
  }

  private line(line: string): void {
    const p = parseStderrLine(line);
    if (p.kind === 'timebase') {
      this.num = p.num;
      this.den = p.den;
    } else if (p.kind === 'frame') {
      this.latest = Math.max(this.latest, p.n);
      if (p.pts !== undefined) this.pts.set(p.n, (p.pts * this.num * 1000) / this.den);
      if (this.pts.size > this.maxPending) this.pts.delete(this.pts.keys().next().value as number);
    } else if (p.kind === 'log') this.onLog(p.level, p.text);
  }

  /**
   * The pts in ms of output frame `n` and forgets older frames; `undefined` when not known yet
   * (see `latest` to tell "not yet" from "never").
   */
  take(n: number): number | undefined {
    for (const k of this.pts.keys()) {
      if (k >= n) break;
      this.pts.delete(k);
    }
    const v = this.pts.get(n);
    this.pts.delete(n);
    return v;
  }
}

/** Exponential backoff, `attempt` from 1, scaled by a random factor in [1-jitter, 1+jitter], capped. */
export function backoffDelay(attempt: number, b: SupervisionConfig['backoff'], random: () => number = Math.random): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(0, Math.min(b.maxMs, Math.round(base * (1 + b.jitter * (2 * random() - 1)))));
}

/** How long a complete frame waits for its showinfo line (stderr may lag stdout) before its time is estimated. */
const PTS_GRACE_MS = 100;

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
 *
 * Capture times come from ffmpeg (showinfo's pts of each output frame), not from when the bytes
 * reach Node: after the RTSP probe, seconds of buffered frames arrive in one burst. Network
 * inputs carry wall-clock receive times; files and other inputs are anchored at the first frame's
 * arrival plus their pts. A frame whose line never comes gets the previous time plus one period
 * (its arrival time before any line came), and times never go backwards.
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
    const { live: liveUrl, wallclock } = urlKind(camera.url);
    // lavfi synthesises for ever: like a network camera, its exit means restart.
    const live = liveUrl || camera.url.startsWith('lavfi:');

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
    // Per ffmpeg process: frames read so far, their showinfo times, frames waiting for one.
    let frameNo = 0;
    let showinfo = new ShowinfoReader(opts.fps);
    let waiting: Array<{ n: number; rgb: Uint8Array; arrival: number }> = [];
    let graceTimer: Subscription | undefined;
    let anchor: number | undefined;
    /** Whether this process has reported any frame time yet. */
    let timed = false;
    let lastTs = -Infinity;

    const setState = (next: CameraStatus, reason?: string, since = scheduler.now()): void => {
      status = next;
      const state: CameraState = { camera: camera.id, status: next, since, attempt, ...(reason === undefined ? {} : { reason }) };
      log?.info({ status: next, attempt, reason }, `camera ${camera.id}: ${next}`);
      subscriber.next(state);
    };

    /** Emits waiting frames in order once their capture time is known (or `final`: the process is gone). */
    const release = (final = false): void => {
      graceTimer?.unsubscribe();
      graceTimer = undefined;
      while (waiting.length > 0 && !done) {
        const w = waiting[0];
        const pts = showinfo.take(w.n);
        if (pts === undefined && !final && showinfo.latest < w.n) {
          const left = w.arrival + PTS_GRACE_MS - scheduler.now();
          if (left > 0) {
            graceTimer = scheduler.schedule(() => release(), left);
            return;
          }
        }
        waiting.shift();
        let ts: number;
        if (pts !== undefined) {
          ts = wallclock ? pts : (anchor ??= w.arrival - pts) + pts;
          timed = true;
        } else {
          // fps makes the output constant-rate, so a lost line is one period after the last frame.
          ts = timed ? lastTs + 1000 / opts.fps : w.arrival;
        }
        // Windows assume ordered frames; a fallback time must not jump back behind ffmpeg's.
        ts = Math.max(ts, lastTs);
        lastTs = ts;
        if (status !== 'streaming') {
          // Streaming since its first frame was captured (during the probe, before it reached us),
          // so no window of the new connection starts before the state that announces it.
          attempt = 0;
          setState('streaming', undefined, ts);
          armWatchdog();
        }
        subscriber.next({ camera: camera.id, seq: seq++, captureTs: ts, width: opts.width, height: opts.height, rgb: w.rgb });
      }
    };

    /** Until the first frame of a (re)start the connect timeout applies, then the stall timeout. */
    const armWatchdog = (): void => {
      watchdog?.unsubscribe();
      const streaming = status === 'streaming';
      const ms = streaming ? stallMs : connectMs;
      watchdog = scheduler.schedule(() => {
        if (done) return;
        const why = `no frame for ${ms / 1000}s`;
        release(true);
        if (streaming) setState('stalled', why);
        kill();
        scheduleRestart(streaming ? `stalled: ${why}` : `no first frame within ${ms / 1000}s`);
      }, ms);
    };

    const kill = (): void => {
      graceTimer?.unsubscribe();
      waiting = [];
      const p = proc;
      proc = undefined;
      if (p === undefined) return;
      p.stdout?.removeAllListeners('data');
      p.stderr?.removeAllListeners('data');
      p.removeAllListeners('close');
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
      release(true);
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
          armWatchdog();
          waiting.push({ n: frameNo++, rgb, arrival: scheduler.now() });
          release();
          if (done) return; // a consumer unsubscribed synchronously
        }
      }
    };

    function start(): void {
      if (done) return;
      pending = undefined;
      filled = 0;
      stderrTail = '';
      frameNo = 0;
      waiting = [];
      anchor = undefined;
      timed = false;
      // Only error-level lines explain an exit; showinfo and info lines are never kept or logged.
      showinfo = new ShowinfoReader(opts.fps, (level, text) => {
        if (level === 'error' || level === 'fatal' || level === 'panic') stderrTail = (stderrTail + text + '\n').slice(-2000);
      });
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
      const reader = showinfo;
      p.stdout!.on('data', onData);
      p.stderr!.setEncoding('utf8');
      p.stderr!.on('data', (d: string) => {
        if (p !== proc) return;
        reader.write(d);
        if (waiting.length > 0) release();
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
      // 'close', not 'exit': both pipes are drained by then, so the last frames and their times are in.
      p.on('close', (code, signal) => {
        if (p !== proc) return;
        release(true);
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
