/**
 * Segment-based frame sampling as ActionCLIP/TSN do it (datasets.py `_sample_indices` and
 * `_get_val_indices`), returning 0-based frame indices (add the list's index bias to name files).
 *
 * Training: the video is cut into T equal segments (integer ticks `i*n//T`), one frame at a random
 * offset inside each. Testing: the centre of each segment. Videos with no more frames than T take
 * every frame and fill the rest (training: random repeats, sorted; testing: `i*n//T`).
 */
import type { Rng } from './rng.js';

export interface SampleOptions {
  /** Frames per clip (ActionCLIP `num_segments`). */
  segments: number;
  /** Consecutive frames per segment (ActionCLIP `seg_length`, 1 for every released config). */
  segLength?: number;
}

function check(numFrames: number, segments: number, segLength: number): void {
  if (!(Number.isInteger(numFrames) && numFrames > 0)) throw new RangeError(`numFrames must be a positive integer, got ${numFrames}`);
  if (!(Number.isInteger(segments) && segments > 0)) throw new RangeError(`segments must be a positive integer, got ${segments}`);
  if (!(Number.isInteger(segLength) && segLength > 0)) throw new RangeError(`segLength must be a positive integer, got ${segLength}`);
}

/** Training indices: a random offset inside each segment (length `segments*segLength`). */
export function sampleTrainIndices(numFrames: number, options: SampleOptions, rng: Rng): number[] {
  const { segments, segLength = 1 } = options;
  check(numFrames, segments, segLength);
  const total = segments * segLength;
  if (numFrames <= total) {
    const offsets = Array.from({ length: numFrames }, (_, i) => i);
    for (let i = numFrames; i < total; i++) offsets.push(rng.int(numFrames));
    return offsets.sort((a, b) => a - b);
  }
  const out: number[] = [];
  for (let i = 0; i < segments; i++) {
    const start = Math.floor((i * numFrames) / segments);
    const end = Math.floor(((i + 1) * numFrames) / segments);
    const len = end - start;
    let tick = start;
    if (len >= segLength) tick += rng.int(len - segLength + 1);
    for (let j = 0; j < segLength; j++) out.push(tick + j);
  }
  return out;
}

/** Test indices: the centre of each segment (deterministic). */
export function sampleTestIndices(numFrames: number, options: SampleOptions): number[] {
  const { segments, segLength = 1 } = options;
  check(numFrames, segments, segLength);
  const total = segments * segLength;
  if (segments === 1) return [Math.floor(numFrames / 2)];
  if (numFrames <= total) return Array.from({ length: total }, (_, i) => Math.floor((i * numFrames) / total));
  const offset = (numFrames / segments - segLength) / 2;
  const out: number[] = [];
  for (let i = 0; i < segments; i++) {
    for (let j = 0; j < segLength; j++) out.push(Math.trunc((i * numFrames) / segments + offset + j));
  }
  return out;
}

/**
 * Multi-view temporal sampling for testing: `clips` clips of T frames each, spread evenly over
 * the video. Clip c uses the segment grid shifted by `c/clips` of a segment, so the clips
 * interleave (with clips=1 it is exactly `sampleTestIndices`); each clip is sorted, in range.
 */
export function sampleMultiClipIndices(numFrames: number, options: SampleOptions & { clips: number }): number[][] {
  const { segments, segLength = 1, clips } = options;
  check(numFrames, segments, segLength);
  if (!(Number.isInteger(clips) && clips > 0)) throw new RangeError(`clips must be a positive integer, got ${clips}`);
  if (clips === 1) return [sampleTestIndices(numFrames, options)];
  const seg = numFrames / segments;
  const out: number[][] = [];
  for (let c = 0; c < clips; c++) {
    const shift = ((c + 0.5) / clips) * seg - segLength / 2;
    const clip: number[] = [];
    for (let i = 0; i < segments; i++) {
      for (let j = 0; j < segLength; j++) {
        const idx = Math.floor(i * seg + Math.max(0, shift) + j);
        clip.push(Math.min(numFrames - 1, Math.max(0, idx)));
      }
    }
    out.push(clip);
  }
  return out;
}
