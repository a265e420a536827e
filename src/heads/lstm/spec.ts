import { checkShape } from '../../model/weights/check-shapes.js';
import { checkFramePositions } from '../frame-positions.js';
import type { HeadSpec } from '../types.js';

/** visual_prompt's `lstm_visual`: nn.LSTM(D, D, batch_first=True, num_layers=1), PyTorch's gate order i, f, g, o. */
export const LSTM_KEYS = {
  inputWeight: 'lstm_visual.weight_ih_l0',
  hiddenWeight: 'lstm_visual.weight_hh_l0',
  inputBias: 'lstm_visual.bias_ih_l0',
  hiddenBias: 'lstm_visual.bias_hh_l0',
} as const;

export const lstmSpec: HeadSpec<'LSTM'> = {
  name: 'LSTM',
  aliases: [],
  learned: true,
  owns: (keys) => keys.some((k) => k.startsWith('lstm_visual.')),
  validate(w, dims, file) {
    const d = dims.embedDim;
    checkFramePositions(w, 'LSTM', dims, file);
    checkShape(w, LSTM_KEYS.inputWeight, [4 * d, d], file, 'LSTM fusion');
    checkShape(w, LSTM_KEYS.hiddenWeight, [4 * d, d], file, 'LSTM fusion');
    checkShape(w, LSTM_KEYS.inputBias, [4 * d], file, 'LSTM fusion');
    checkShape(w, LSTM_KEYS.hiddenBias, [4 * d], file, 'LSTM fusion');
  },
  framesOf: () => null,
};
