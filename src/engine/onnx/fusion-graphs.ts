/**
 * ActionCLIP's post-network temporal heads (modules/visual_prompt.py, `visual_prompt.forward`) as
 * ONNX graphs: `frames [b,T,D]` to `video [b,D]`. Each head's subgraph is its own
 * (src/heads/<name>/onnx.ts); this wraps it with the graph's input and output.
 */
import { WeightsError } from '../../errors.js';
import { headDefinition, type HeadName } from '../../heads/registry.js';
import type { ClipConfig } from '../../model/clip-config.js';
import type { GraphOptions } from './clip-graphs.js';
import { GraphBuilder } from './graph.js';
import type { OnnxHeadKit } from './head-kit.js';
import * as layers from './layers.js';
import type { WeightSource } from './weight-source.js';

/** `src`: the fusion state dict without `module.` (null when none was loaded). */
export function buildFusionGraph(head: HeadName, src: WeightSource | null, cfg: ClipConfig, frames: number, o: GraphOptions): Uint8Array {
  const g = new GraphBuilder(`fusion_${head}`, o.floatType);
  const x = g.input('frames', ['b', frames, cfg.embedDim]);
  const kit: OnnxHeadKit = {
    g,
    nn: layers,
    weights: () => {
      if (src === null) throw new WeightsError(`the ${head} head needs fusion weights`, '<fusion>');
      return src;
    },
    meanOverFrames: (v) => g.op('ReduceMean', [v], { axes: [1], keepdims: 0 }),
    clip: cfg,
    frames,
    options: o,
  };
  g.output(headDefinition(head).onnx(x, kit), 'video', ['b', cfg.embedDim]);
  return g.build({ graph: `fusion_${head}` });
}
