import { afterAll, describe, expect, it } from 'vitest';
import { createTfjsEngine, type TfjsEngine } from '../../src/engine/tfjs/tfjs-engine.js';
import { clipConfigFromWeights } from '../../src/model/clip-config.js';
import { validateClipWeights } from '../../src/model/weights/validate-clip.js';
import { CLIP_SPECS, syntheticClipWeights } from '../../src/model/weights/synthetic-weights.js';
import { tokenize } from '../../src/model/tokenizer.js';

describe('every CLIP ViT size is read from the weights', () => {
  it.each([
    ['ViT-B/32', { embedDim: 512, imageResolution: 224, patchSize: 32, visionWidth: 768, visionLayers: 12, visionHeads: 12, textWidth: 512, textLayers: 12, textHeads: 8 }],
    ['ViT-B/16', { embedDim: 512, imageResolution: 224, patchSize: 16, visionWidth: 768, visionLayers: 12, visionHeads: 12, textWidth: 512, textLayers: 12, textHeads: 8 }],
    ['ViT-L/14', { embedDim: 768, imageResolution: 224, patchSize: 14, visionWidth: 1024, visionLayers: 24, visionHeads: 16, textWidth: 768, textLayers: 12, textHeads: 12 }],
  ] as const)('%s', (name, expected) => {
    const shapes = syntheticClipWeights(CLIP_SPECS[name], 1, true);
    expect(clipConfigFromWeights(shapes)).toMatchObject({ ...expected, contextLength: 77, vocabSize: 49408 });
  });
});

describe('a ViT-B/32-shaped model loads and runs on tfjs wasm', () => {
  let engine: TfjsEngine | undefined;
  afterAll(() => engine?.dispose());

  it('validates, encodes one frame and one prompt', async () => {
    const weights = syntheticClipWeights(CLIP_SPECS['ViT-B/32']);
    expect(validateClipWeights(weights, 'ViT-B-32 (synthetic)')).toMatchObject({ patchSize: 32, visionLayers: 12 });
    engine = await createTfjsEngine({ clip: weights, fusion: null, head: null, frames: null, sources: { clip: 'ViT-B-32 (synthetic)' } }, { backend: 'wasm', log: () => {} });
    const frame = await engine.encodeFrames(new Float32Array(3 * 224 * 224).fill(0.1), 1);
    const text = await engine.encodeText(tokenize(['a video of juggling balls']), 1);
    expect(frame.length).toBe(512);
    expect(text.length).toBe(512);
    expect(frame.every(Number.isFinite) && text.every(Number.isFinite)).toBe(true);
  });
});
