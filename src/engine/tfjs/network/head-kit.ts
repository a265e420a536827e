import type * as tf from '@tensorflow/tfjs';
import type { ClipConfig } from '../../../model/clip-config.js';
import type * as layers from './layers.js';
import type { ParamStore } from './params.js';

/**
 * What the tfjs engine hands a temporal head (src/heads/<name>/tfjs.ts): tfjs itself, the network's
 * layers and the head's parameters. Passed in rather than imported so the head registry stays free
 * of engine code (see src/heads/types.ts).
 */
export interface TfjsHeadKit {
  readonly tf: typeof tf;
  readonly nn: typeof layers;
  /** The head's tensor `name` (a fusion state-dict key), checked against `shape` (undefined: any size). */
  param(name: string, shape?: readonly (number | undefined)[]): tf.Tensor;
  /** For layers that take a ParamStore and a key prefix (residualAttentionBlock). */
  readonly params: ParamStore;
  /** Where the head's tensors live in `params`. */
  readonly prefix: string;
  readonly clip: ClipConfig;
}

/** `[b,T,D]` frame embeddings to `[b,D]`. */
export type TfjsHead = (x: tf.Tensor, kit: TfjsHeadKit) => tf.Tensor;
