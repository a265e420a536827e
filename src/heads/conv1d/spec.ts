import { checkShape } from '../../model/weights/check-shapes.js';
import { checkFramePositions } from '../frame-positions.js';
import type { HeadSpec } from '../types.js';

/** visual_prompt's depthwise `shift` Conv1d(D, D, 3, padding=1, groups=D). */
export const SHIFT_WEIGHT = 'shift.weight';

export const conv1dSpec: HeadSpec<'Conv_1D'> = {
  name: 'Conv_1D',
  aliases: ['conv'],
  learned: true,
  owns: (keys) => keys.includes(SHIFT_WEIGHT),
  validate(w, dims, file) {
    checkFramePositions(w, 'Conv_1D', dims, file);
    checkShape(w, SHIFT_WEIGHT, [dims.embedDim, 1, 3], file, 'Conv_1D fusion');
  },
  framesOf: () => null,
};
