/** ActionCLIP's post-network temporal heads (`visual_prompt.sim_header`). */
export const HEAD_NAMES = ['meanP', 'Conv_1D', 'LSTM', 'Transf', 'Transf_cls'] as const;
export type HeadName = (typeof HEAD_NAMES)[number];

/** Accepts the paper's spellings too (MeanP, Conv1D, Transf-cls...). */
export function parseHeadName(name: string): HeadName | undefined {
  const norm = name.toLowerCase().replace(/[^a-z]/g, '');
  const table: Record<string, HeadName> = { meanp: 'meanP', convd: 'Conv_1D', conv: 'Conv_1D', lstm: 'LSTM', transf: 'Transf', transfcls: 'Transf_cls' };
  return table[norm];
}
