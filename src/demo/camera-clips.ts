/**
 * The demo's cameras: one mp4 per class, several synthetic clips of that class back to back,
 * drawn from a seed the training data never used. Played through the camera path (`run` reads a
 * file at its native rate, as a camera), each clip becomes exactly one window.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { createRng } from '../training/rng.js';
import { renderSyntheticClip, writeVideoFile, type SyntheticClass } from '../training/synthetic-dataset.js';
import { camerasKey, DEMO_CAMERAS, DEMO_RECIPE } from './recipe.js';

export interface DemoCamera {
  readonly id: string;
  /** The class every clip on this camera shows: what its detections must say. */
  readonly expected: SyntheticClass;
  readonly file: string;
}

/** Writes (or finds, by key) one clip file per class; camera ids say nothing about the answer. */
export async function ensureCameraClips(cacheDir: string, recipe = DEMO_RECIPE, cameras = DEMO_CAMERAS): Promise<DemoCamera[]> {
  const dir = path.join(path.resolve(cacheDir), `cameras-${camerasKey(recipe, cameras)}`);
  await mkdir(dir, { recursive: true });
  const rng = createRng(cameras.seed);
  const out: DemoCamera[] = [];
  for (const [i, cls] of recipe.classes.entries()) {
    const file = path.join(dir, `cam${i + 1}.mp4`);
    // Forks are drawn whether or not the file exists, so each camera's clips never depend on the cache.
    const clips = Array.from({ length: cameras.clipsPerCamera }, () => rng.fork());
    if (!existsSync(file)) {
      const { width, height, frames, fps } = recipe.data;
      const all = clips.flatMap((r) => renderSyntheticClip(cls, r, { width, height, frames }));
      // Hold the last frame for a second (half a window, never scored): a camera that stops drops
      // its queued frames, and the last clip's window must be scored before that.
      all.push(...Array.from({ length: fps }, () => all[all.length - 1]));
      const tmp = `${file}.${process.pid}.tmp.mp4`;
      await writeVideoFile(all, tmp, fps);
      await rename(tmp, file);
    }
    out.push({ id: `cam${i + 1}`, expected: cls, file });
  }
  return out;
}
