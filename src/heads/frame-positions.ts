/**
 * `frame_position_embeddings`: visual_prompt creates it for every learned head (Conv_1D and LSTM
 * included, which never read it), so every learned head's weights carry it.
 */
import { WeightsError } from '../errors.js';
import { checkShape, formatShape } from '../model/weights/check-shapes.js';
import type { TensorMap } from '../model/weights/tensor-map.js';
import { gauss } from './init-tensors.js';
import type { FusionDims, HeadInitOptions, HeadRng } from './types.js';

export const FRAME_POSITIONS = 'frame_position_embeddings.weight';

/** At least T rows of width D (ActionCLIP sizes it by the context length). */
export function checkFramePositions(w: TensorMap, head: string, dims: FusionDims, file: string): void {
  const d = dims.embedDim;
  const rows = dims.contextLength ?? 'context_length';
  const fpe = w.get(FRAME_POSITIONS);
  if (fpe === undefined) throw new WeightsError(`missing ${head} fusion tensor (the model needs [${rows},${d}])`, file, FRAME_POSITIONS);
  if (fpe.shape.length !== 2 || fpe.shape[1] !== d || fpe.shape[0] < (dims.frames ?? 1)) {
    throw new WeightsError(`tensor has shape ${formatShape(fpe.shape)} but the model needs [${dims.contextLength ?? '>=T'},${d}]`, file, FRAME_POSITIONS);
  }
  checkShape(w, FRAME_POSITIONS, [fpe.shape[0], d], file, `${head} fusion`);
}

/** A new map holding the N(0, 0.02) position table, drawn first as visual_prompt does. */
export function initFramePositions(options: HeadInitOptions, rng: HeadRng): TensorMap {
  return new Map([[FRAME_POSITIONS, gauss(rng, [options.contextLength, options.embedDim])]]);
}
