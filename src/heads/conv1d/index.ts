/** Conv_1D: a depthwise temporal convolution (initialised as a shift) with a residual, then the mean. */
import type { HeadDefinition } from '../types.js';
import { initConv1d } from './init.js';
import { conv1dOnnx } from './onnx.js';
import { conv1dSpec } from './spec.js';
import { conv1dTfjs } from './tfjs.js';

export const conv1d: HeadDefinition<'Conv_1D'> = { ...conv1dSpec, init: initConv1d, tfjs: conv1dTfjs, onnx: conv1dOnnx };
