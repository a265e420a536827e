import { concatMap, type OperatorFunction } from 'rxjs';
import type { Engine } from '../src/engine/engine.js';
import { preprocessFrame } from '../src/model/preprocess.js';
import { slidingGroups, toWindow, type SlidingWindowOptions } from '../src/stages/sliding-windows.js';
import type { Frame, Window } from '../src/types.js';

export interface WindowsWithoutCacheOptions extends SlidingWindowOptions {
  /** Model input size S. Default `engine.info.clip.imageResolution`. */
  readonly imageSize?: number;
  readonly preprocess?: (frame: Frame, size: number) => Float32Array;
}

/**
 * The baseline without an embedding cache, for benchmarks only: buffers raw frames and, for every
 * window, preprocesses and encodes all W frames again (one `encodeFrames` call per window, calls in
 * sequence), so each frame is encoded about W/stride times. Same windows as `embedFrames` +
 * `slidingWindows`. It has no drop policy: when the engine is slower, windows wait (unbounded),
 * which is fine for a bounded benchmark input and wrong for a live stream.
 */
export function windowsWithoutCache(engine: Engine, options: WindowsWithoutCacheOptions): OperatorFunction<Frame, Window> {
  const size = options.imageSize ?? engine.info.clip.imageResolution;
  const preprocess = options.preprocess ?? ((f: Frame, s: number) => preprocessFrame(f.rgb, f.width, f.height, s));
  const per = 3 * size * size;
  const groups = slidingGroups<Frame>(options);
  return (source) =>
    source.pipe(
      groups,
      concatMap(async (group) => {
        const pixels = new Float32Array(group.length * per);
        group.forEach((f, i) => pixels.set(preprocess(f, size), i * per));
        const embeddings = await engine.encodeFrames(pixels, group.length);
        return toWindow(group, embeddings);
      }),
    );
}
