/**
 * Decodes a video file (or any URL ffmpeg can read) to RGB frames by piping ffmpeg's rawvideo
 * output, and reads folders of extracted frames with sharp.
 *
 * ffmpeg runs through the one ffmpeg process module (`ffmpeg/process.ts`): an argument array,
 * never a shell, so URLs and paths cannot inject commands. The output frame size is read from
 * ffmpeg's own "Output #0" stream line, which it prints before writing the first frame, so one
 * process serves both probing and decoding (a second connection to a camera just to probe would be slow and may be refused).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import sharp from 'sharp';
import { SourceError } from '../errors.js';
import { resolveFfmpeg } from './ffmpeg-path.js';
import { FfmpegProcess, describeExit } from './ffmpeg/process.js';
import { RawFrameCutter } from './ffmpeg/raw-frames.js';
import { redactUrl } from './redact.js';
import { urlKind } from './registry.js';

export interface RgbFrame {
  /** 0-based position in the decoded sequence (after fps resampling). */
  index: number;
  /** Presentation time in ms from the start of the stream (see decodeVideo for how it is derived). */
  ptsMs: number;
  width: number;
  height: number;
  /** Interleaved RGB, `[height, width, 3]`. */
  rgb: Uint8Array;
}

export interface DecodeOptions {
  /** Resample to this frame rate (ffmpeg's fps filter); omitted: every decoded frame. */
  fps?: number;
  /** Output width; with only one of width/height the other keeps the aspect ratio. */
  width?: number;
  height?: number;
  /** Scale so the shorter side is this many pixels (ignored when width or height is given). */
  shortSide?: number;
  /** Stop after this many frames. */
  maxFrames?: number;
  signal?: AbortSignal;
  /** ffmpeg binary; default resolveFfmpeg(). */
  ffmpegPath?: string;
  /** Extra arguments placed before `-i` (e.g. `['-rtsp_transport', 'tcp']`, `['-re']`). */
  inputArgs?: readonly string[];
}

const STDERR_LINES = 20;

function checkPositive(name: string, v: number | undefined, integer: boolean): void {
  if (v === undefined) return;
  if (!(Number.isFinite(v) && v > 0 && (!integer || Number.isInteger(v)))) {
    throw new SourceError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`, false);
  }
}

/** The `-vf` chain for the requested rate and size ('' when none). */
export function buildFilters(opts: Pick<DecodeOptions, 'fps' | 'width' | 'height' | 'shortSide'>): string {
  const filters: string[] = [];
  if (opts.fps !== undefined) filters.push(`fps=${opts.fps}`);
  if (opts.width !== undefined || opts.height !== undefined) {
    filters.push(`scale=${opts.width ?? -1}:${opts.height ?? -1}`);
  } else if (opts.shortSide !== undefined) {
    const s = opts.shortSide;
    // Commas inside filter options must be escaped for the filtergraph parser.
    filters.push(`scale=w=if(lte(iw\\,ih)\\,${s}\\,-1):h=if(lte(iw\\,ih)\\,-1\\,${s})`);
  }
  return filters.join(',');
}

/** ffmpeg's arguments for decoding `url` to rgb24 on stdout. */
export function buildFfmpegArgs(url: string, opts: DecodeOptions = {}): string[] {
  const args = ['-hide_banner', '-nostdin', '-nostats', ...(opts.inputArgs ?? []), '-i', url, '-an', '-sn', '-dn'];
  const vf = buildFilters(opts);
  if (vf) args.push('-vf', vf);
  if (opts.maxFrames !== undefined) args.push('-frames:v', String(opts.maxFrames));
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
  return args;
}

interface OutputInfo {
  width: number;
  height: number;
  fps: number | undefined;
}

/** Parses ffmpeg's `Output #0 ... Stream #0:0: Video: rawvideo (...), rgb24, WxH ..., N fps` line. */
export function parseOutputInfo(stderr: string): OutputInfo | undefined {
  const at = stderr.indexOf('Output #0');
  if (at < 0) return undefined;
  // Only whole lines: stderr arrives in chunks, and a line cut after its size but before its
  // frame rate would otherwise parse as "no rate".
  const complete = stderr.slice(at, stderr.lastIndexOf('\n') + 1);
  for (const line of complete.split('\n')) {
    if (!/Stream #\d+:\d+.*Video: rawvideo/.test(line)) continue;
    const size = /, (\d+)x(\d+)\b/.exec(line);
    if (!size) continue;
    const fps = /, ([\d.]+) fps\b/.exec(line) ?? /, ([\d.]+k?) tbr\b/.exec(line);
    const rate = fps ? parseFloat(fps[1]) : NaN;
    return { width: Number(size[1]), height: Number(size[2]), fps: Number.isFinite(rate) && rate > 0 ? rate : undefined };
  }
  return undefined;
}


/**
 * Decodes `url` to RGB frames. Frames are yielded as fresh buffers (safe to keep). `ptsMs` is
 * `index × 1000 / fps` with the requested fps, or else the output stream's nominal rate, so it
 * is exact for constant-frame-rate output (always the case with `fps`). Breaking out of the
 * loop or aborting `signal` kills ffmpeg; failures throw a SourceError carrying ffmpeg's last
 * stderr lines, with credentials redacted.
 */
export async function* decodeVideo(url: string, opts: DecodeOptions = {}): AsyncGenerator<RgbFrame, void, undefined> {
  for (const k of ['fps', 'width', 'height', 'shortSide', 'maxFrames'] as const) checkPositive(k, opts[k], k !== 'fps');
  opts.signal?.throwIfAborted();
  const ffmpeg = opts.ffmpegPath ?? resolveFfmpeg().path;
  const header = new OutputHeader(opts);
  const proc = FfmpegProcess.spawn(ffmpeg, buildFfmpegArgs(url, opts), { onStderrLine: (l) => header.line(l), tailLines: STDERR_LINES });
  const stdout = readingAtOnce(proc.stdout);
  const onAbort = () => proc.kill('SIGKILL');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const failure = async (what: string): Promise<SourceError> => {
    const exit = await proc.exited;
    if (exit.spawnError) return new SourceError(`cannot start ffmpeg (${ffmpeg}) for ${redactUrl(url)}: ${exit.spawnError.message}`, false, { cause: exit.spawnError });
    const lines = proc.tail().join('\n');
    return new SourceError(`ffmpeg ${what} for ${redactUrl(url)} (${describeExit(exit)})${lines ? `:\n${lines}` : ''}`, urlKind(url).network);
  };
  try {
    // Wait for the output header (or for ffmpeg to end without one).
    const info = await Promise.race([header.known, proc.exited.then(() => header.info)]);
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (!info) throw await failure('produced no video output');
    // Stopped at maxFrames: done, whatever ffmpeg does next (it is killed below).
    if (yield* rawFrames(stdout, info, opts)) return;
    if (opts.signal?.aborted) throw opts.signal.reason;
    const exit = await proc.exited;
    if (exit.code !== 0) throw await failure('failed');
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    proc.kill('SIGKILL');
    proc.stdout.destroy();
  }
}

/**
 * Reads `stdout` from now on, one chunk ahead (back-pressure kept). Node discards the output of a
 * child whose exit it handles before anyone listens to its stdout (child_process's flushStdio
 * resumes unread pipes). A short clip's ffmpeg can run start to end while the event loop is busy,
 * and when libuv reaps it together with another child's SIGCHLD before its stderr header was read,
 * the frames were dropped and the clip "decoded to no frames" with exit code 0.
 */
function readingAtOnce(stream: Readable): AsyncIterable<Buffer> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer, undefined>;
  // The first next() attaches the stream's 'readable' listener at once, which stops the flush.
  let first: Promise<IteratorResult<Buffer, undefined>> | undefined = it.next();
  // A failure path that never iterates must not leave an unhandled rejection (premature close).
  first.catch(() => undefined);
  const iterator: AsyncIterator<Buffer, undefined> = {
    next: () => {
      const r = first ?? it.next();
      first = undefined;
      return r;
    },
    return: async () => (await it.return?.()) ?? { done: true, value: undefined },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/** Collects stderr from "Output #0" until the rawvideo stream line names the frame size. */
class OutputHeader {
  info: OutputInfo | undefined;
  readonly known: Promise<OutputInfo>;
  private resolve: (info: OutputInfo) => void = () => undefined;
  private text: string | undefined;

  constructor(opts: DecodeOptions) {
    this.known = new Promise((r) => (this.resolve = r));
    // Both sides given: the size is known without reading the header.
    if (opts.width !== undefined && opts.height !== undefined) this.found({ width: opts.width, height: opts.height, fps: undefined });
  }

  line(line: string): void {
    if (this.info !== undefined) return;
    if (this.text === undefined && !line.includes('Output #0')) return;
    this.text = (this.text ?? '') + line + '\n';
    const info = parseOutputInfo(this.text);
    if (info !== undefined) this.found(info);
  }

  private found(info: OutputInfo): void {
    this.info = info;
    this.text = undefined;
    this.resolve(info);
  }
}

/** Cuts ffmpeg's rawvideo stdout into whole rgb24 frames (fresh buffers); true when it stopped at `maxFrames`. */
async function* rawFrames(stdout: AsyncIterable<Buffer>, info: OutputInfo, opts: DecodeOptions): AsyncGenerator<RgbFrame, boolean, undefined> {
  const { width, height } = info;
  const rate = opts.fps ?? info.fps;
  const cutter = new RawFrameCutter(width * height * 3);
  let index = 0;
  for await (const chunk of stdout) {
    for (const rgb of cutter.push(chunk)) {
      // Data already buffered when an abort killed ffmpeg must not be delivered.
      opts.signal?.throwIfAborted();
      yield { index, ptsMs: rate ? (index * 1000) / rate : 0, width, height, rgb };
      index++;
      if (opts.maxFrames !== undefined && index >= opts.maxFrames) return true;
    }
  }
  return false;
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** Image files of a frame folder in natural order (`img_2` before `img_10`). */
export async function listFrameFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new SourceError(`cannot read frame folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, false, { cause: err });
  }
  const collator = new Intl.Collator('en', { numeric: true });
  return names
    .filter((n) => IMAGE_EXT.has(path.extname(n).toLowerCase()))
    .sort(collator.compare)
    .map((n) => path.join(dir, n));
}

/**
 * Decodes a folder of extracted frames (jpg/png/webp) to RGB in natural file order. No EXIF
 * rotation is applied, like PIL's `Image.open(...).convert('RGB')` in ActionCLIP's loader.
 * `ptsMs` assumes the frames were extracted at `fps` (default 25).
 */
export async function* readFrameFolder(dir: string, opts: { fps?: number; signal?: AbortSignal } = {}): AsyncGenerator<RgbFrame, void, undefined> {
  checkPositive('fps', opts.fps, false);
  const fps = opts.fps ?? 25;
  const files = await listFrameFiles(dir);
  if (files.length === 0) throw new SourceError(`frame folder ${dir} has no jpg/png/webp images`, false);
  for (let index = 0; index < files.length; index++) {
    opts.signal?.throwIfAborted();
    const file = files[index];
    let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
    try {
      decoded = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    } catch (err) {
      throw new SourceError(`cannot decode frame ${file}: ${(err as Error).message}`, false, { cause: err });
    }
    const { data, info } = decoded;
    if (info.channels !== 3) throw new SourceError(`frame ${file} decoded to ${info.channels} channels, expected 3`, false);
    yield { index, ptsMs: (index * 1000) / fps, width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }
}
