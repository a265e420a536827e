/** Transf: a 6-layer temporal transformer (CLIP blocks) over position-embedded frames, residual, mean. */
import type { HeadDefinition } from '../types.js';
import { initTransf } from './init.js';
import { transfOnnx } from './onnx.js';
import { transfSpec } from './spec.js';
import { transfTfjs } from './tfjs.js';

export const transf: HeadDefinition<'Transf'> = { ...transfSpec, init: initTransf, tfjs: transfTfjs, onnx: transfOnnx };
