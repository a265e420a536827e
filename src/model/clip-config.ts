import { WeightsError } from '../errors.js';
import type { TensorMap } from './weights/tensor-map.js';

/** Every size of a CLIP model, read from its weights (OpenAI key names), as CLIP's build_model does. */
export interface ClipConfig {
  readonly embedDim: number;
  readonly imageResolution: number;
  readonly patchSize: number;
  readonly visionWidth: number;
  readonly visionLayers: number;
  readonly visionHeads: number;
  readonly contextLength: number;
  readonly vocabSize: number;
  readonly textWidth: number;
  readonly textLayers: number;
  readonly textHeads: number;
}

export function clipConfigFromWeights(w: TensorMap, file = '<weights>'): ClipConfig {
  const shape = (key: string): readonly number[] => {
    const t = w.get(key);
    if (t === undefined) throw new WeightsError('missing CLIP tensor', file, key);
    return t.shape;
  };
  const layers = (prefix: string): number => {
    const ids = new Set<string>();
    for (const k of w.keys()) if (k.startsWith(prefix)) ids.add(k.slice(prefix.length).split('.')[0]);
    if (ids.size === 0) throw new WeightsError('no transformer blocks found', file, `${prefix}0.*`);
    return ids.size;
  };
  if (!w.has('visual.proj')) {
    throw new WeightsError('only ViT image encoders are supported (no visual.proj; ResNet CLIP models are not)', file, 'visual.proj');
  }
  const visionWidth = shape('visual.conv1.weight')[0];
  const patchSize = shape('visual.conv1.weight')[shape('visual.conv1.weight').length - 1];
  const gridTokens = shape('visual.positional_embedding')[0];
  const grid = Math.round(Math.sqrt(gridTokens - 1));
  if (grid * grid + 1 !== gridTokens) throw new WeightsError(`positional embedding of ${gridTokens} tokens is not a square grid plus CLS`, file, 'visual.positional_embedding');
  const textWidth = shape('ln_final.weight')[0];
  return {
    embedDim: shape('text_projection')[1],
    imageResolution: grid * patchSize,
    patchSize,
    visionWidth,
    visionLayers: layers('visual.transformer.resblocks.'),
    visionHeads: visionWidth / 64,
    contextLength: shape('positional_embedding')[0],
    vocabSize: shape('token_embedding.weight')[0],
    textWidth,
    textLayers: layers('transformer.resblocks.'),
    textHeads: textWidth / 64,
  };
}
