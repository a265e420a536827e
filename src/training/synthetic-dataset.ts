/**
 * A tiny synthetic action dataset for end-to-end training tests and demos: one coloured shape
 * per clip moving left, right, up, down, growing or shrinking, with random colours, sizes, start
 * positions and speeds. Frames are drawn in TypeScript as raw RGB and either piped into ffmpeg
 * (`video_path label` lists) or written as PNG folders (`path num_frames label` lists, TSN
 * naming), or both. Deterministic for a given seed.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, SourceError } from '../errors.js';
import { resolveFfmpeg } from '../sources/ffmpeg-path.js';
import { frameFileName } from './dataset.js';
import { writePng, type RgbImage } from './image.js';
import { createRng, type Rng } from './rng.js';

export const SYNTHETIC_CLASSES = ['moving left', 'moving right', 'moving up', 'moving down', 'growing', 'shrinking'] as const;
export type SyntheticClass = (typeof SYNTHETIC_CLASSES)[number];

export interface ClipSpec {
  width: number;
  height: number;
  frames: number;
  /**
   * `random`: a random dark background and bright shape per clip (colour is noise the model must
   * learn to ignore); `fixed`: white on black, so that clips differ only in shape, place, size
   * and motion.
   */
  colors?: 'random' | 'fixed';
  /** Half-size of moving shapes as a fraction of the shorter side; default [0.08, 0.16]. */
  sizeRange?: readonly [number, number];
  /** Distance a moving shape travels over the clip, as a fraction of the free length; default [0.35, 0.65]. */
  travelRange?: readonly [number, number];
}

/** Draws one clip of `cls`. The shape stays fully inside the frame for the whole clip. */
export function renderSyntheticClip(cls: SyntheticClass, rng: Rng, spec: ClipSpec): RgbImage[] {
  const { width: W, height: H, frames: T } = spec;
  const minSide = Math.min(W, H);
  const fixed = spec.colors === 'fixed';
  const bg: [number, number, number] = fixed ? [0, 0, 0] : randomColor(rng, 0, 90);
  const fg: [number, number, number] = fixed ? [255, 255, 255] : randomColor(rng, 150, 255);
  const shape: 'square' | 'disc' = rng.next() < 0.5 ? 'square' : 'disc';
  // Half-size (radius) and motion, in pixels; the travel fits inside the frame.
  const [sizeLo, sizeHi] = spec.sizeRange ?? [0.08, 0.16];
  let r0 = rng.uniform(sizeLo, sizeHi) * minSide;
  let r1 = r0;
  let x0 = 0;
  let y0 = 0;
  let dx = 0;
  let dy = 0;
  const span = T > 1 ? T - 1 : 1;
  if (cls === 'growing' || cls === 'shrinking') {
    const small = rng.uniform(0.06, 0.12) * minSide;
    const big = rng.uniform(0.3, 0.42) * minSide;
    [r0, r1] = cls === 'growing' ? [small, big] : [big, small];
    const rMax = Math.max(r0, r1);
    x0 = rng.uniform(rMax, W - rMax);
    y0 = rng.uniform(rMax, H - rMax);
  } else {
    const horizontal = cls === 'moving left' || cls === 'moving right';
    const len = horizontal ? W : H;
    const [travelLo, travelHi] = spec.travelRange ?? [0.35, 0.65];
    const travel = rng.uniform(travelLo, travelHi) * (len - 2 * r0);
    const start = rng.uniform(r0, len - r0 - travel);
    const across = rng.uniform(r0, (horizontal ? H : W) - r0);
    const sign = cls === 'moving left' || cls === 'moving up' ? -1 : 1;
    const from = sign > 0 ? start : start + travel;
    if (horizontal) {
      x0 = from;
      y0 = across;
      dx = (sign * travel) / span;
    } else {
      x0 = across;
      y0 = from;
      dy = (sign * travel) / span;
    }
  }
  const out: RgbImage[] = [];
  for (let t = 0; t < T; t++) {
    const rgb = new Uint8Array(W * H * 3);
    for (let i = 0; i < W * H; i++) rgb.set(bg, i * 3);
    const cx = x0 + dx * t;
    const cy = y0 + dy * t;
    const r = r0 + ((r1 - r0) * t) / span;
    for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(H - 1, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(W - 1, Math.ceil(cx + r)); x++) {
        const px = x + 0.5 - cx;
        const py = y + 0.5 - cy;
        const inside = shape === 'square' ? Math.abs(px) <= r && Math.abs(py) <= r : px * px + py * py <= r * r;
        if (inside) rgb.set(fg, (y * W + x) * 3);
      }
    }
    out.push({ width: W, height: H, rgb });
  }
  return out;
}

function randomColor(rng: Rng, lo: number, hi: number): [number, number, number] {
  // One channel forced high (or low) so foreground and background always differ in brightness.
  const c: [number, number, number] = [0, 0, 0].map(() => Math.round(rng.uniform(lo * 0.3, hi))) as [number, number, number];
  c[rng.int(3)] = Math.round(rng.uniform(lo, hi));
  return c;
}

/** Pipes frames into ffmpeg as rawvideo and encodes H.264 (yuv420p, so sides must be even). */
export async function writeVideoFile(frames: readonly RgbImage[], file: string, fps: number, ffmpegPath?: string): Promise<void> {
  if (frames.length === 0) throw new RangeError('writeVideoFile: no frames');
  const { width: W, height: H } = frames[0];
  if (W % 2 !== 0 || H % 2 !== 0) throw new ConfigError(`video frames must have even sides for yuv420p, got ${W}×${H}`);
  const bin = ffmpegPath ?? resolveFfmpeg().path;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(fps), '-i', 'pipe:0',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '12', '-pix_fmt', 'yuv420p', '-an',
    file,
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (err) => reject(new SourceError(`cannot run ffmpeg (${bin}): ${err.message}`, false, { cause: err })));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new SourceError(`ffmpeg failed writing ${file} (exit ${code}): ${stderr.trim().slice(-500)}`, false));
    });
    // EPIPE when ffmpeg dies early is reported through 'close' with its stderr.
    child.stdin.on('error', () => undefined);
    for (const f of frames) {
      if (f.width !== W || f.height !== H) {
        child.kill();
        reject(new RangeError('writeVideoFile: frames differ in size'));
        return;
      }
      child.stdin.write(f.rgb);
    }
    child.stdin.end();
  });
}

export interface SyntheticDatasetOptions {
  outDir: string;
  /** Classes to generate; default all six. */
  classes?: readonly SyntheticClass[];
  trainPerClass?: number;
  valPerClass?: number;
  width?: number;
  height?: number;
  frames?: number;
  fps?: number;
  seed?: number;
  /** `video`: mp4 files + `video_path label` lists; `frames`: PNG folders + `path num_frames label`. */
  format?: 'video' | 'frames' | 'both';
  /** Frame file template for the folders (Python format, 1-based like TSN extractions). */
  frameTemplate?: string;
  ffmpegPath?: string;
  colors?: ClipSpec['colors'];
  sizeRange?: ClipSpec['sizeRange'];
  travelRange?: ClipSpec['travelRange'];
}

export interface SyntheticDataset {
  labelsFile: string;
  labels: string[];
  /** `video_path label` lists (format video/both). */
  trainList?: string;
  valList?: string;
  /** `path num_frames label` lists (format frames/both). */
  trainFramesList?: string;
  valFramesList?: string;
  frameTemplate: string;
  clips: number;
}

/**
 * Writes the dataset under `outDir`: `labels.csv`, `train.txt`/`val.txt` (videos) and/or
 * `train_frames.txt`/`val_frames.txt` (frame folders), paths relative to `outDir`.
 */
export async function generateSyntheticDataset(options: SyntheticDatasetOptions): Promise<SyntheticDataset> {
  const {
    outDir,
    classes = SYNTHETIC_CLASSES,
    trainPerClass = 8,
    valPerClass = 2,
    width = 64,
    height = 64,
    frames = 16,
    fps = 8,
    seed = 0,
    format = 'video',
    frameTemplate = 'img_{:05d}.png',
  } = options;
  if (classes.length === 0) throw new ConfigError('synthetic dataset: no classes');
  for (const c of classes) if (!SYNTHETIC_CLASSES.includes(c)) throw new ConfigError(`synthetic dataset: unknown class "${c}" (known: ${SYNTHETIC_CLASSES.join(', ')})`);
  for (const [k, v] of Object.entries({ trainPerClass, valPerClass, width, height, frames, fps })) {
    if (!(Number.isInteger(v) && v >= (k === 'valPerClass' ? 0 : 1))) throw new ConfigError(`synthetic dataset: ${k} must be a positive integer, got ${v}`);
  }
  const wantVideo = format === 'video' || format === 'both';
  const wantFrames = format === 'frames' || format === 'both';
  const ffmpegPath = wantVideo ? (options.ffmpegPath ?? resolveFfmpeg().path) : undefined;
  await mkdir(outDir, { recursive: true });
  const rng = createRng(seed);
  const lists = { train: { video: [] as string[], frames: [] as string[] }, val: { video: [] as string[], frames: [] as string[] } };
  let clips = 0;
  for (const split of ['train', 'val'] as const) {
    const n = split === 'train' ? trainPerClass : valPerClass;
    for (let label = 0; label < classes.length; label++) {
      const cls = classes[label];
      const slug = cls.replace(/\s+/g, '_');
      for (let i = 0; i < n; i++) {
        const clip = renderSyntheticClip(cls, rng.fork(), { width, height, frames, colors: options.colors, sizeRange: options.sizeRange, travelRange: options.travelRange });
        const name = `${slug}_${String(i).padStart(3, '0')}`;
        if (wantVideo) {
          const rel = path.posix.join('videos', split, `${name}.mp4`);
          await mkdir(path.join(outDir, 'videos', split), { recursive: true });
          await writeVideoFile(clip, path.join(outDir, rel), fps, ffmpegPath);
          lists[split].video.push(`${rel} ${label}`);
        }
        if (wantFrames) {
          const rel = path.posix.join('frames', split, name);
          await mkdir(path.join(outDir, rel), { recursive: true });
          for (let t = 0; t < clip.length; t++) await writePng(path.join(outDir, rel, frameFileName(frameTemplate, t + 1)), clip[t]);
          lists[split].frames.push(`${rel} ${clip.length} ${label}`);
        }
        clips++;
      }
    }
  }
  const labelsFile = path.join(outDir, 'labels.csv');
  await writeFile(labelsFile, `id,name\n${classes.map((c, i) => `${i},${c}`).join('\n')}\n`);
  const out: SyntheticDataset = { labelsFile, labels: [...classes], frameTemplate, clips };
  if (wantVideo) {
    out.trainList = path.join(outDir, 'train.txt');
    out.valList = path.join(outDir, 'val.txt');
    await writeFile(out.trainList, lines(lists.train.video));
    await writeFile(out.valList, lines(lists.val.video));
  }
  if (wantFrames) {
    out.trainFramesList = path.join(outDir, 'train_frames.txt');
    out.valFramesList = path.join(outDir, 'val_frames.txt');
    await writeFile(out.trainFramesList, lines(lists.train.frames));
    await writeFile(out.valFramesList, lines(lists.val.frames));
  }
  return out;
}

function lines(items: string[]): string {
  return items.length === 0 ? '' : `${items.join('\n')}\n`;
}

/**
 * CLI entry: `--out DIR [--format video|frames|both] [--train N] [--val N] [--size WxH]
 * [--frames T] [--fps F] [--seed S] [--classes "moving left,growing"]`. Returns what was written;
 * a command module can call it with `process.argv.slice(n)`.
 */
export async function syntheticDatasetCli(argv: readonly string[]): Promise<SyntheticDataset> {
  const opts: Partial<SyntheticDatasetOptions> = {};
  const int = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n)) throw new ConfigError(`${flag} needs an integer, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const v = argv[i + 1];
    i++;
    switch (flag) {
      case '--out':
        if (!v) throw new ConfigError('--out needs a folder');
        opts.outDir = v;
        break;
      case '--format':
        if (v !== 'video' && v !== 'frames' && v !== 'both') throw new ConfigError(`--format must be video, frames or both, got ${v ?? 'nothing'}`);
        opts.format = v;
        break;
      case '--train':
        opts.trainPerClass = int(flag, v);
        break;
      case '--val':
        opts.valPerClass = int(flag, v);
        break;
      case '--frames':
        opts.frames = int(flag, v);
        break;
      case '--fps':
        opts.fps = int(flag, v);
        break;
      case '--seed':
        opts.seed = int(flag, v);
        break;
      case '--size': {
        const m = /^(\d+)x(\d+)$/.exec(v ?? '');
        if (!m) throw new ConfigError(`--size must look like 64x64, got ${v ?? 'nothing'}`);
        opts.width = Number(m[1]);
        opts.height = Number(m[2]);
        break;
      }
      case '--classes':
        opts.classes = (v ?? '').split(',').map((s) => s.trim()) as SyntheticClass[];
        break;
      default:
        throw new ConfigError(`unknown option ${flag}`);
    }
  }
  if (!opts.outDir) throw new ConfigError('--out DIR is required');
  return generateSyntheticDataset(opts as SyntheticDatasetOptions);
}
