import { describe, expect, it } from 'vitest';
import { WeightsError } from '../../../src/errors.js';
import { detectClipLayout, detectFrames, detectFusionHead, huggingFaceToOpenAi, openAiToHuggingFace, stripModulePrefix } from '../../../src/model/weights/key-maps.js';
import { readSafetensors } from '../../../src/model/weights/safetensors.js';
import type { TensorMap } from '../../../src/model/weights/tensor-map.js';
import { fixture, HAVE_FIXTURES } from '../../support/fixtures.js';
import { expectSameTensors, tinyClip } from './helpers.js';

describe('CLIP key maps', () => {
  const clip = tinyClip(11, 2);

  it('maps OpenAI names to Hugging Face CLIPModel names with split q/k/v and transposed projections', () => {
    const hf = openAiToHuggingFace(clip);
    expect(detectClipLayout(hf)).toBe('huggingface');
    expect(hf.get('vision_model.embeddings.patch_embedding.weight')!.shape).toEqual([64, 3, 4, 4]);
    expect(hf.get('vision_model.encoder.layers.1.self_attn.k_proj.weight')!.shape).toEqual([64, 64]);
    expect(hf.get('text_model.encoder.layers.0.self_attn.v_proj.bias')!.shape).toEqual([64]);
    expect(hf.get('visual_projection.weight')!.shape).toEqual([32, 64]);
    expect(hf.get('text_projection.weight')!.shape).toEqual([32, 64]);
    // Transposition: visual.proj[i][j] == visual_projection.weight[j][i].
    expect(hf.get('visual_projection.weight')!.data[5 * 64 + 3]).toBe(clip.get('visual.proj')!.data[3 * 32 + 5]);
    // k is the middle third of in_proj_weight.
    expect(hf.get('vision_model.encoder.layers.0.self_attn.k_proj.weight')!.data[0]).toBe(clip.get('visual.transformer.resblocks.0.attn.in_proj_weight')!.data[64 * 64]);
  });

  it('maps Hugging Face names back to exactly the OpenAI tensors, ignoring position_ids', () => {
    const hf = openAiToHuggingFace(clip);
    hf.set('vision_model.embeddings.position_ids', { shape: [1, 5], dtype: 'int32', data: Int32Array.of(0, 1, 2, 3, 4) });
    hf.set('text_model.embeddings.position_ids', { shape: [1, 8], dtype: 'int32', data: new Int32Array(8) });
    const back = huggingFaceToOpenAi(hf, 'hf.safetensors');
    expect(back.unused).toEqual([]);
    expectSameTensors(back.tensors, clip);
  });

  it('reports a missing attention projection by its Hugging Face name', () => {
    const hf = openAiToHuggingFace(clip);
    hf.delete('text_model.encoder.layers.1.self_attn.k_proj.bias');
    let err: unknown;
    try {
      huggingFaceToOpenAi(hf, 'hf.safetensors');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WeightsError);
    expect((err as WeightsError).key).toBe('text_model.encoder.layers.1.self_attn.k_proj.bias');
    expect((err as WeightsError).file).toBe('hf.safetensors');
  });

  it('detects layouts and strips a DataParallel module. prefix only when every key has it', () => {
    expect(detectClipLayout(clip)).toBe('openai');
    expect(detectClipLayout(new Map())).toBeUndefined();
    const prefixed: TensorMap = new Map([...clip].map(([k, v]) => [`module.${k}`, v]));
    expectSameTensors(stripModulePrefix(prefixed), clip);
    const mixed: TensorMap = new Map([...prefixed, ['other', clip.get('logit_scale')!]]);
    expect(stripModulePrefix(mixed)).toBe(mixed);
  });
});

describe.skipIf(!HAVE_FIXTURES)('fusion head detection (fixtures)', () => {
  it.each(['Conv_1D', 'LSTM', 'Transf', 'Transf_cls'] as const)('detects %s and T', async (head) => {
    const file = fixture(`fusion-${head}.safetensors`);
    const { tensors, metadata } = await readSafetensors(file);
    const t = stripModulePrefix(tensors);
    expect([...t.keys()].some((k) => k.startsWith('module.'))).toBe(false);
    expect(detectFusionHead(t, file)).toBe(head);
    expect(detectFrames(t, metadata, file)).toBe(8);
    // Without metadata only Transf_cls tells T (pos_embed has T + 1 rows).
    expect(detectFrames(t, undefined, file)).toBe(head === 'Transf_cls' ? 8 : null);
  });

  it('an empty fusion state dict is meanP; unknown keys are an error', () => {
    expect(detectFusionHead(new Map(), 'f')).toBe('meanP');
    expect(() => detectFusionHead(new Map([['foo.weight', { shape: [1], dtype: 'float32', data: new Float32Array(1) }]]), 'f')).toThrow(/cannot tell which fusion head.*file: f/);
  });
});
