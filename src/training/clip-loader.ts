/**
 * Turns dataset records into model inputs: picks frame indices (segment sampling), reads those
 * frames (frame folders: only the sampled files; videos: decoded once with ffmpeg, optionally
 * kept in a byte-bounded cache because short clips are re-read every epoch), augments and
 * normalises them into float32 `[B*T,3,S,S]` batches, the layout of `preprocessFrames`.
 */
import { decodeVideo } from '../sources/video-file.js';
import { applyAugmentParams, sampleAugmentParams, testTransformClip, threeCropClip, type TrainAugmentOptions } from './augment.js';
import { framePaths, type DatasetRecord } from './dataset.js';
import { readRgbImage, type RgbImage } from './image.js';
import type { Rng } from './rng.js';
import { sampleMultiClipIndices, sampleTestIndices, sampleTrainIndices } from './sampling.js';

export interface ClipSource {
  frameTemplate?: string;
  indexBias?: number;
  cache?: FrameCache;
}

/** Least-recently-used cache of decoded videos, bounded by bytes. */
export class FrameCache {
  private readonly map = new Map<string, RgbImage[]>();
  private bytes = 0;
  constructor(readonly maxBytes = 512 * 1024 * 1024) {}
  get(key: string): RgbImage[] | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, frames: RgbImage[]): void {
    const size = frames.reduce((a, f) => a + f.rgb.byteLength, 0);
    if (size > this.maxBytes) return;
    this.map.set(key, frames);
    this.bytes += size;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.reduce((a, f) => a + f.rgb.byteLength, 0);
    }
  }
  get size(): number {
    return this.bytes;
  }
}

async function decodeAll(file: string): Promise<RgbImage[]> {
  const out: RgbImage[] = [];
  for await (const f of decodeVideo(file)) out.push({ width: f.width, height: f.height, rgb: f.rgb });
  return out;
}

/** The record's frame count and a reader of frames by 0-based index. */
async function openRecord(record: DatasetRecord, source: ClipSource): Promise<{ numFrames: number; read: (indices: readonly number[]) => Promise<RgbImage[]> }> {
  if (record.kind === 'frames') {
    return {
      numFrames: record.numFrames,
      read: async (indices) => {
        // Read each distinct file once (short videos repeat indices).
        const files = framePaths(record, indices, source.frameTemplate, source.indexBias);
        const unique = new Map<string, Promise<RgbImage>>();
        for (const f of files) if (!unique.has(f)) unique.set(f, readRgbImage(f));
        return Promise.all(files.map((f) => unique.get(f)!));
      },
    };
  }
  let frames = source.cache?.get(record.path);
  if (!frames) {
    frames = await decodeAll(record.path);
    if (frames.length === 0) throw new RangeError(`${record.source}: ${record.path} decoded to no frames`);
    source.cache?.set(record.path, frames);
  }
  const all = frames;
  return { numFrames: all.length, read: async (indices) => indices.map((i) => all[i]) };
}

/** T raw frames of a record: random segment offsets (train) or segment centres (test). */
export async function loadClipFrames(record: DatasetRecord, segments: number, mode: 'train' | 'test', source: ClipSource = {}, rng?: Rng): Promise<RgbImage[]> {
  const r = await openRecord(record, source);
  if (mode === 'train' && !rng) throw new RangeError('training sampling needs an rng');
  const idx = mode === 'train' ? sampleTrainIndices(r.numFrames, { segments }, rng!) : sampleTestIndices(r.numFrames, { segments });
  return r.read(idx);
}

export interface TrainBatchOptions extends ClipSource {
  segments: number;
  augment: TrainAugmentOptions & { multiScaleCrop?: boolean };
}

/** A training batch: `[B*T,3,S,S]` frames (clip-major) and the B labels. */
export async function makeTrainBatch(records: readonly DatasetRecord[], rng: Rng, options: TrainBatchOptions): Promise<{ frames: Float32Array; labels: Int32Array }> {
  const size = options.augment.size;
  const per = options.segments * 3 * size * size;
  const frames = new Float32Array(records.length * per);
  // Draw every random number up front in record order, so batches do not depend on I/O timing.
  const rngs = records.map(() => rng.fork());
  const clips = await Promise.all(records.map((rec, i) => loadClipFrames(rec, options.segments, 'train', options, rngs[i])));
  clips.forEach((clip, i) => {
    const params = sampleAugmentParams(clip[0].width, clip[0].height, rngs[i], options.augment);
    if (options.augment.multiScaleCrop === false) {
      // Whole frame, squashed to the model size (no crop randomness).
      params.crop = { x: 0, y: 0, width: clip[0].width, height: clip[0].height };
    }
    frames.set(applyAugmentParams(clip, params, size), i * per);
  });
  return { frames, labels: Int32Array.from(records, (r) => r.label) };
}

/**
 * Test views of one record: `clips` temporal clips × `crops` spatial crops (1: the inference
 * centre crop; 3: left/centre/right), each `[T,3,S,S]`, clip-major. Average their scores with
 * evaluation/metrics `averageViews`.
 */
export async function makeTestViews(
  record: DatasetRecord,
  options: ClipSource & { segments: number; size: number; clips?: number; crops?: 1 | 3 },
): Promise<Float32Array[]> {
  const r = await openRecord(record, options);
  const clipIdx = sampleMultiClipIndices(r.numFrames, { segments: options.segments, clips: options.clips ?? 1 });
  const views: Float32Array[] = [];
  for (const idx of clipIdx) {
    const frames = await r.read(idx);
    if ((options.crops ?? 1) === 3) views.push(...threeCropClip(frames, options.size));
    else views.push(testTransformClip(frames, options.size));
  }
  return views;
}

/** Epoch order: a seeded shuffle cut into batches; a short last batch is dropped (ActionCLIP's drop_last) unless it is the only one. */
export function epochBatches<R>(records: readonly R[], batchSize: number, rng: Rng, dropLast = true): R[][] {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const order = rng.shuffle(records);
  const out: R[][] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const b = order.slice(i, i + batchSize);
    if (b.length < batchSize && dropLast && out.length > 0) break;
    out.push(b);
  }
  return out;
}
