/**
 * What a temporal head is: its weights' layout (detection, validation, the clip length they fix),
 * fresh weights for fine-tuning, and one implementation per engine. The implementations receive
 * their engine's primitives as an argument (TfjsHeadKit, OnnxHeadKit) and import them as types
 * only, so that the head registry, which the weights loader reads, loads no engine code.
 */
import type { TensorMap } from '../model/weights/tensor-map.js';
import type { OnnxHead } from '../engine/onnx/head-kit.js';
import type { TfjsHead } from '../engine/tfjs/network/head-kit.js';

/** Sizes a head's weights are checked against. */
export interface FusionDims {
  /** Joint embedding size D (`text_projection.shape[1]`). */
  readonly embedDim: number;
  /** Clip length T when known (a Transf_cls position table must have T+1 rows). */
  readonly frames: number | null;
  /** Rows of the frame position embedding when known (ActionCLIP: the text context length, 77). */
  readonly contextLength?: number;
}

export interface HeadInitOptions {
  /** Joint embedding size D. */
  readonly embedDim: number;
  /** Frames per clip T (Transf_cls' position table has T+1 rows). */
  readonly frames: number;
  /** Rows of the frame position embedding (ActionCLIP: the text context length, 77). */
  readonly contextLength: number;
}

/** The random numbers an initialiser draws (training's seeded Rng satisfies it). */
export interface HeadRng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
}

/** The weights side of a head: no engine involved. */
export interface HeadSpec<N extends string = string> {
  /** ActionCLIP's `sim_header` name. */
  readonly name: N;
  /** Other spellings parseHeadName accepts, as lower-case letters only (`conv` for Conv_1D). */
  readonly aliases: readonly string[];
  /** Whether the head has weights of its own (meanP has none). */
  readonly learned: boolean;
  /** Whether a fusion state dict (keys without `module.`) is this head's, from the submodules it creates. */
  owns(keys: readonly string[]): boolean;
  /** Checks the tensors against what ActionCLIP's `visual_prompt` builds; throws a WeightsError naming file and key. */
  validate(w: TensorMap, dims: FusionDims, file: string): void;
  /** The clip length T the weights fix (Transf_cls's position table), else null. */
  framesOf(w: TensorMap): number | null;
}

export interface HeadDefinition<N extends string = string> extends HeadSpec<N> {
  /** New weights for fine-tuning, initialised as ActionCLIP's `visual_prompt.init_weights`; keys without `module.`. */
  init(options: HeadInitOptions, rng: HeadRng): TensorMap;
  /** `[b,T,D]` frame embeddings to `[b,D]` on TensorFlow.js (differentiable). */
  readonly tfjs: TfjsHead;
  /** The same as an ONNX subgraph. */
  readonly onnx: OnnxHead;
}
