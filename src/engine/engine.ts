import type { ClipConfig } from '../model/clip-config.js';
import type { HeadName } from '../model/heads.js';
import type { TensorMap } from '../model/weights/tensor-map.js';

export interface EngineInfo {
  /** Which implementation computes: TensorFlow.js, ONNX Runtime, or the tfjs network on Dawn WebGPU. */
  readonly engine: 'tfjs' | 'onnx' | 'webgpu';
  /** tfjs backend (tensorflow, wasm, cpu...) or ONNX execution provider (cpu, cuda, tensorrt). */
  readonly backend: string;
  readonly clip: ClipConfig;
  readonly head: HeadName;
  /** Frames per video the head was built for (T). */
  readonly frames: number;
  /** Pre-network Joint (space-time attention) and in-network Shift variants of the image encoder. */
  readonly joint: boolean;
  readonly shift: boolean;
  /**
   * The numerics, where the engine has a choice (float type, quantisation, kernel set): two engines
   * with the same engine, backend and precision return bit-identical outputs for the same weights.
   */
  readonly precision?: string;
}

/**
 * The model's compute, the only thing the pipeline talks to. Arrays are row-major float32; nothing
 * is normalised (like ActionCLIP's encode_image / fusion_model / encode_text).
 */
export interface Engine {
  readonly info: EngineInfo;
  /** `[n,3,S,S]` preprocessed frames to `[n,D]`. With Joint or Shift, n must be a multiple of T (whole videos). */
  encodeFrames(pixels: Float32Array, n: number): Promise<Float32Array>;
  /** `[b,T,D]` frame embeddings to `[b,D]` video embeddings. */
  fuse(frameEmbeddings: Float32Array, b: number): Promise<Float32Array>;
  /** `[n,contextLength]` token ids to `[n,D]`. */
  encodeText(tokens: Int32Array, n: number): Promise<Float32Array>;
  /**
   * Optional: b videos of T frames (`[b·T,3,S,S]`) to `[b,D]` in one pass, the frame embeddings
   * never leaving the device. Without it, callers run encodeFrames then fuse.
   */
  encodeVideos?(pixels: Float32Array, b: number): Promise<Float32Array>;
  dispose(): void;
}

/** What an engine is built from: CLIP tensors (OpenAI names) and an optional fusion head (no `module.` prefix). */
export interface EngineWeights {
  readonly clip: TensorMap;
  readonly fusion: TensorMap | null;
  readonly head: HeadName | null;
  readonly frames: number | null;
  readonly sources: { readonly clip: string; readonly fusion?: string };
}

/** What a caller asks of an engine; resolveModelSpec (model-spec.ts) fills in the rest from the weights. */
export interface EngineOptions {
  /** Temporal head; defaults to the weights' head, else meanP (the paper's zero-shot setting). */
  readonly head?: HeadName;
  /** Frames per video T; defaults to the weights' T, else 8. */
  readonly frames?: number;
  readonly joint?: boolean;
  readonly shift?: boolean;
}
