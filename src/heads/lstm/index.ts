/** LSTM: one LSTM layer over the frames with a residual, then the mean. */
import type { HeadDefinition } from '../types.js';
import { initLstm } from './init.js';
import { lstmOnnx } from './onnx.js';
import { lstmSpec } from './spec.js';
import { lstmTfjs } from './tfjs.js';

export const lstm: HeadDefinition<'LSTM'> = { ...lstmSpec, init: initLstm, tfjs: lstmTfjs, onnx: lstmOnnx };
