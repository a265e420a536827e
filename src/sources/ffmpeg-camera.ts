/**
 * A camera read through ffmpeg: any URL of the scheme table, decoded, sampled to `fps` and scaled
 * inside ffmpeg (so unwanted frames never reach Node), one process per connection.
 */
import { Observable, asyncScheduler, type Subscriber } from 'rxjs';
import { SourceError } from '../errors.js';
import { CaptureTimes } from './ffmpeg/capture-times.js';
import { FfmpegProcess, describeExit, type FfmpegExit } from './ffmpeg/process.js';
import { RawFrameCutter } from './ffmpeg/raw-frames.js';
import { ShowinfoReader, isFailureLine } from './ffmpeg/showinfo.js';
import type { FrameSource, SourceFrame } from './frame-source.js';
import { redactText, redactUrl } from './redact.js';
import type { DecodeTuning } from '../../config/schema.js';
import type { SourceOptions, SourceScheme } from './source-scheme.js';

export type FfmpegCameraOptions = SourceOptions;

/**
 * ffmpeg's arguments (an array: the URL is never interpreted by a shell).
 *
 * `showinfo` after fps/scale prints each output frame's pts on stderr (at info level, hence
 * `-loglevel level+info`: the level tag lets errors be told apart for exit reasons). `-vsync
 * passthrough` keeps output frames 1:1 with showinfo's `n:` so stdout frame k pairs with line n=k.
 */
export function cameraArgs(url: string, scheme: SourceScheme, o: Pick<FfmpegCameraOptions, 'fps' | 'width' | 'height' | 'realtime' | 'tuning'>): string[] {
  const { options, input } = scheme.ffmpegInput(url);
  const tuning = o.tuning ?? {};
  // Without -copyts ffmpeg shifts timestamps to start at 0 and the wall-clock epoch is lost.
  const wallclock = scheme.wallclock ? { input: ['-use_wallclock_as_timestamps', '1'], output: ['-copyts'] } : { input: [], output: [] };
  const pace = !scheme.live && (o.realtime ?? true) ? ['-re'] : [];
  const whitelist = scheme.protocols === undefined ? [] : ['-protocol_whitelist', scheme.protocols];
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+info',
    ...whitelist, ...options, ...wallclock.input, ...pace, ...decoderArgs(tuning),
    '-i', input,
    ...wallclock.output,
    '-an', '-sn', '-dn',
    '-vf', `fps=${o.fps},${scaleFilter(o.width, o.height, tuning)},showinfo`,
    '-vsync', 'passthrough',
    '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1',
  ];
}

// ffmpeg's AVDiscard names for the decoder's skip options.
const DISCARD = { none: 'default', nonref: 'noref', nokey: 'nokey', all: 'all' } as const;

/** Input (decoder) options: they must come before `-i`. Unset fields add nothing, so ffmpeg's defaults stay. */
export function decoderArgs(t: Partial<DecodeTuning>): string[] {
  const args: string[] = [];
  if (t.threads !== undefined && t.threads > 0) args.push('-threads', String(t.threads));
  if (t.skipLoopFilter !== undefined && t.skipLoopFilter !== 'none') args.push('-skip_loop_filter', DISCARD[t.skipLoopFilter]);
  if (t.skipFrame !== undefined && t.skipFrame !== 'none') args.push('-skip_frame', DISCARD[t.skipFrame]);
  return args;
}

/**
 * The scale step. `crop` keeps the aspect ratio: scale until both sides cover width×height, then
 * cut the centre, as the model's resize-and-centre-crop does; `stretch` squeezes the picture.
 * The sampled frames alone are scaled (fps comes first), so the cost is per sampled frame.
 */
export function scaleFilter(width: number, height: number, t: Partial<DecodeTuning>): string {
  const flags = t.scaler === undefined ? '' : `:flags=${t.scaler}`;
  if (t.fit === 'crop') return `scale=${width}:${height}:force_original_aspect_ratio=increase${flags},crop=${width}:${height}`;
  return `scale=${width}:${height}${flags}`;
}

/** @throws ConfigError when the URL is malformed for its scheme (checked now, not at the first connection). */
export function ffmpegCamera(url: string, scheme: SourceScheme, o: FfmpegCameraOptions): FrameSource {
  const args = cameraArgs(url, scheme, o);
  return { connect: () => new Observable<SourceFrame>((subscriber) => connectOnce(subscriber, url, scheme, args, o)) };
}

/** One ffmpeg process feeding one subscriber; returns its teardown. */
function connectOnce(subscriber: Subscriber<SourceFrame>, url: string, scheme: SourceScheme, args: string[], o: FfmpegCameraOptions): () => void {
  const { width, height } = o;
  const showinfo = new ShowinfoReader(o.fps);
  const times = new CaptureTimes(showinfo, {
    fps: o.fps,
    wallclock: scheme.wallclock,
    scheduler: o.scheduler ?? asyncScheduler,
    emit: (rgb, captureTs) => subscriber.next({ captureTs, width, height, rgb }),
  });
  const cutter = new RawFrameCutter(width * height * 3);
  o.logger?.debug({ url: redactUrl(url) }, 'starting ffmpeg');
  // Only error-level lines explain an exit; showinfo and info lines are never kept or logged.
  const proc = FfmpegProcess.spawn(o.ffmpegPath, args, { onStderrLine: (l) => (showinfo.line(l), times.release()), keepLine: isFailureLine });
  proc.stdout.on('data', (chunk: Buffer) => {
    for (const rgb of cutter.push(chunk)) {
      if (subscriber.closed) return;
      times.push(rgb);
    }
  });
  void proc.exited.then((exit) => {
    if (subscriber.closed) return;
    times.release(true);
    if (subscriber.closed) return;
    if (exit.spawnError === undefined && exit.code === 0 && !scheme.endless) subscriber.complete();
    else subscriber.error(exitError(exit, proc, url, o.ffmpegPath));
  });
  return () => {
    times.dispose();
    proc.kill();
  };
}

/** Why a connection ended, as a SourceError: a missing binary is fatal, anything else worth a retry. */
function exitError(exit: FfmpegExit, proc: FfmpegProcess, url: string, ffmpegPath: string): SourceError {
  const err = exit.spawnError;
  // ENOENT/EACCES: no ffmpeg binary; retrying cannot help.
  if (err !== undefined && (err.code === 'ENOENT' || err.code === 'EACCES')) return new SourceError(`cannot start ffmpeg (${ffmpegPath}): ${err.code}`, false, { cause: err });
  if (err !== undefined) return new SourceError(`ffmpeg error: ${redactText(err.message)}`, true, { cause: err });
  const last = (proc.tail().pop() ?? '').trim().replaceAll(url, redactUrl(url));
  return new SourceError(`ffmpeg exited (${describeExit(exit)})${last ? `: ${last}` : ''}`, true);
}
