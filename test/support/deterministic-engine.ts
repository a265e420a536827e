import type { SchedulerLike } from 'rxjs';
import type { Engine, EngineInfo } from '../../src/engine/engine.js';
import type { HeadName } from '../../src/model/heads.js';
import type { Frame } from '../../src/types.js';

/**
 * A test double of the model's compute (not of any external system): cheap, deterministic
 * arithmetic with the Engine's shapes, counting every call so tests can check batching and that
 * frames are encoded once.
 *
 * - encodeFrames: frame i -> `[mean(pixels_i) + d for d < D]`, so with `seqPixels` preprocessing a
 *   frame's embedding starts with its seq number.
 * - fuse: mean over T (meanP).
 * - encodeText: a fixed pseudo-random projection of the token ids.
 * With `latencyMs` and a scheduler, results arrive that much virtual time later.
 */
export interface DeterministicEngineOptions {
  readonly dim?: number;
  readonly imageSize?: number;
  readonly frames?: number;
  readonly head?: HeadName;
  readonly joint?: boolean;
  readonly shift?: boolean;
  readonly scheduler?: SchedulerLike;
  readonly latencyMs?: number;
  readonly textLatencyMs?: number;
}

export interface EngineCall {
  readonly kind: 'encodeFrames' | 'fuse' | 'encodeText';
  readonly n: number;
  /** Virtual (scheduler) time of the call, or -1 without a scheduler. */
  readonly at: number;
  /** First value of each row's input (for encodeFrames with seqPixels: the frames' tags). */
  readonly tags: number[];
}

export class DeterministicEngine implements Engine {
  readonly info: EngineInfo;
  readonly calls: EngineCall[] = [];
  framesEncoded = 0;
  inFlight = 0;
  maxInFlight = 0;
  disposed = false;
  /** Next encode/fuse/encodeText calls reject with this (then it is cleared). */
  failNext: Error | undefined;
  /** Next call answers one value short, as a mismatched model would (then it is cleared). */
  wrongShapeNext = false;

  constructor(private readonly options: DeterministicEngineOptions = {}) {
    const dim = options.dim ?? 4;
    this.info = {
      engine: 'tfjs',
      backend: 'deterministic-test-double',
      clip: {
        embedDim: dim,
        imageResolution: options.imageSize ?? 2,
        patchSize: 1,
        visionWidth: dim,
        visionLayers: 1,
        visionHeads: 1,
        contextLength: 77,
        vocabSize: 49408,
        textWidth: dim,
        textLayers: 1,
        textHeads: 1,
      },
      head: options.head ?? 'meanP',
      frames: options.frames ?? 8,
      joint: options.joint ?? false,
      shift: options.shift ?? false,
    };
  }

  get dim(): number {
    return this.info.clip.embedDim;
  }

  callsOf(kind: EngineCall['kind']): EngineCall[] {
    return this.calls.filter((c) => c.kind === kind);
  }

  encodeFrames(pixels: Float32Array, n: number): Promise<Float32Array> {
    const per = pixels.length / n;
    const out = new Float32Array(n * this.dim);
    const tags: number[] = [];
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < per; j++) sum += pixels[i * per + j];
      tags.push(pixels[i * per]);
      for (let d = 0; d < this.dim; d++) out[i * this.dim + d] = sum / per + d;
    }
    this.framesEncoded += n;
    return this.finish('encodeFrames', n, tags, out, this.options.latencyMs);
  }

  fuse(frameEmbeddings: Float32Array, b: number): Promise<Float32Array> {
    const T = this.info.frames;
    const D = this.dim;
    if (frameEmbeddings.length !== b * T * D) return Promise.reject(new Error(`fuse: expected ${b}x${T}x${D} values, got ${frameEmbeddings.length}`));
    const out = new Float32Array(b * D);
    for (let i = 0; i < b; i++) for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) out[i * D + d] += frameEmbeddings[(i * T + t) * D + d] / T;
    return this.finish('fuse', b, [], out, this.options.latencyMs);
  }

  encodeText(tokens: Int32Array, n: number): Promise<Float32Array> {
    const ctx = tokens.length / n;
    const out = new Float32Array(n * this.dim);
    for (let i = 0; i < n; i++) {
      let h = 0;
      for (let j = 0; j < ctx; j++) h = (h * 31 + tokens[i * ctx + j]) % 1_000_003;
      for (let d = 0; d < this.dim; d++) out[i * this.dim + d] = Math.sin(h * (d + 1) * 0.001) + 0.1 * (d + 1);
    }
    return this.finish('encodeText', n, [], out, this.options.textLatencyMs ?? this.options.latencyMs);
  }

  dispose(): void {
    this.disposed = true;
  }

  private finish(kind: EngineCall['kind'], n: number, tags: number[], out: Float32Array, latencyMs = 0): Promise<Float32Array> {
    const s = this.options.scheduler;
    this.calls.push({ kind, n, at: s ? s.now() : -1, tags });
    const fail = this.failNext;
    this.failNext = undefined;
    if (this.wrongShapeNext) {
      this.wrongShapeNext = false;
      out = out.subarray(0, out.length - 1);
    }
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<Float32Array>((resolve, reject) => {
      const done = (): void => {
        this.inFlight--;
        if (fail) reject(fail);
        else resolve(out);
      };
      if (s && latencyMs > 0) s.schedule(done, latencyMs);
      else queueMicrotask(done);
    });
  }
}

/**
 * Test preprocessing: a `[3,S,S]` image filled with the frame's tag (seq, plus 1000 x camera index
 * when `cameras` is given), so embeddings identify their frame. Counts calls.
 */
export function seqPixels(cameras: readonly string[] = []): ((frame: Frame, size: number) => Float32Array) & { calls: number } {
  const fn = Object.assign(
    (frame: Frame, size: number): Float32Array => {
      fn.calls++;
      const cam = Math.max(0, cameras.indexOf(frame.camera));
      return new Float32Array(3 * size * size).fill(frame.seq + 1000 * cam);
    },
    { calls: 0 },
  );
  return fn;
}

/** A tiny frame (2x2 RGB) for camera/seq at capture time `ts`. */
export function frame(camera: string, seq: number, ts: number): Frame {
  return { camera, seq, captureTs: ts, width: 2, height: 2, rgb: new Uint8Array(12).fill(seq % 256) };
}
