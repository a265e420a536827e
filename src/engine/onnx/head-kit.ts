import type { ClipConfig } from '../../model/clip-config.js';
import type { GraphOptions } from './clip-graphs.js';
import type { GraphBuilder } from './graph.js';
import type * as layers from './layers.js';
import type { WeightSource } from './weight-source.js';

/**
 * What the ONNX graph builder hands a temporal head (src/heads/<name>/onnx.ts): the graph, the
 * shared transformer blocks and the head's weights. Passed in rather than imported so the head
 * registry stays free of engine code (see src/heads/types.ts).
 */
export interface OnnxHeadKit {
  readonly g: GraphBuilder;
  readonly nn: typeof layers;
  /** The head's weights (fusion state dict without `module.`); throws a WeightsError when none were loaded. */
  weights(): WeightSource;
  /** ReduceMean over the frame axis of `[b,T,D]`. */
  meanOverFrames(x: string): string;
  readonly clip: ClipConfig;
  /** T, fixed in the graph. */
  readonly frames: number;
  readonly options: GraphOptions;
}

/** The name of a `[b,T,D]` frames value to the name of the `[b,D]` video value. */
export type OnnxHead = (x: string, kit: OnnxHeadKit) => string;
