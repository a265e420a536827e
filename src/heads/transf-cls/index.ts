/** Transf_cls (TAggregate): a CLS token over the frames through a post-norm encoder; the CLS output is the video. */
import type { HeadDefinition } from '../types.js';
import { initTransfCls } from './init.js';
import { transfClsOnnx } from './onnx.js';
import { transfClsSpec } from './spec.js';
import { transfClsTfjs } from './tfjs.js';

export const transfCls: HeadDefinition<'Transf_cls'> = { ...transfClsSpec, init: initTransfCls, tfjs: transfClsTfjs, onnx: transfClsOnnx };
