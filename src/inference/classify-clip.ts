import { stat } from 'node:fs/promises';
import type { ActionClipModel } from '../engine/action-clip-model.js';
import { preprocessFrame } from '../model/preprocess.js';
import { SourceError } from '../errors.js';
import { decodeVideo, readFrameFolder, type RgbFrame } from '../sources/video-file.js';
import { sampleTestIndices } from '../training/sampling.js';
import type { LabelScore } from '../types.js';

export interface ClipClassification {
  readonly input: string;
  /** Frames decoded, and the indices of the T frames sampled (segment centres, as ActionCLIP tests). */
  readonly decodedFrames: number;
  readonly sampled: readonly number[];
  /** Every label with its probability, best first. */
  readonly ranking: readonly LabelScore[];
}

/**
 * Decodes a video file or a folder of frames and keeps every frame, preprocessed as it arrives:
 * the T segment centres can only be chosen once the frame count is known, so memory grows with
 * the clip (3·S·S floats per frame: about 0.6 MB at S = 224). Meant for clips, not for streams.
 */
async function preprocessedFrames(input: string, size: number, fps?: number): Promise<Float32Array[]> {
  const info = await stat(input).catch(() => undefined);
  const frames: AsyncIterable<RgbFrame> = info?.isDirectory() ? readFrameFolder(input) : decodeVideo(input, { fps });
  const out: Float32Array[] = [];
  for await (const f of frames) out.push(preprocessFrame(f.rgb, f.width, f.height, size));
  if (out.length === 0) throw new SourceError(`no frames could be decoded from ${input}`, false);
  return out;
}

/** Zero- or few-shot classification of one clip: T segment-centre frames, the model's head, template-averaged scores. */
export async function classifyClip(
  model: ActionClipModel,
  input: string,
  labels: string[],
  /** templates: default the model's (a checkpoint's, else ActionCLIP's 16). */
  opts: { templates?: readonly string[]; fps?: number } = {},
): Promise<ClipClassification> {
  const { frames: t, imageSize: s } = model.info;
  const all = await preprocessedFrames(input, s, opts.fps);
  const sampled = sampleTestIndices(all.length, { segments: t });
  const pixels = new Float32Array(t * 3 * s * s);
  sampled.forEach((idx, i) => pixels.set(all[idx], i * 3 * s * s));
  const video = await model.encodeVideos(pixels, 1);
  const probs = await model.classify(video, 1, labels, opts.templates);
  const ranking = labels.map((label, i) => ({ label, score: probs[i] })).sort((a, b) => b.score - a.score);
  return { input, decodedFrames: all.length, sampled, ranking };
}
