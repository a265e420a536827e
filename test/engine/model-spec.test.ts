/** resolveModelSpec: the one place engine, head, T and the image-encoder variants are decided. */
import { describe, expect, it } from 'vitest';
import type { EngineWeights } from '../../src/engine/engine.js';
import { resolveModelSpec, type EngineProbe, type ModelRequest } from '../../src/engine/model-spec.js';
import { ConfigError, WeightsError } from '../../src/errors.js';
import { headDefinition, type HeadName } from '../../src/heads/registry.js';
import type { TensorMap } from '../../src/model/weights/tensor-map.js';

const D = 8;
const noGpu: EngineProbe = { tfjsGpuUsable: () => false };
const scalar = { shape: [1], dtype: 'float32', data: new Float32Array(1) } as const;
const rng = { next: () => 0.5, uniform: (lo: number, hi: number) => (lo + hi) / 2 };

function weights(o: { head?: HeadName | null; fusionOf?: HeadName; frames?: number | null; timeEmbedding?: boolean } = {}): EngineWeights {
  const clip: TensorMap = new Map([['visual.proj', scalar]]);
  if (o.timeEmbedding) clip.set('visual.time_embedding', scalar);
  const fusion = o.fusionOf === undefined ? null : headDefinition(o.fusionOf).init({ embedDim: D, frames: 8, contextLength: 77 }, rng);
  return { clip, fusion, head: o.head ?? null, frames: o.frames ?? null, sources: { clip: 'clip.safetensors', fusion: fusion === null ? undefined : 'fusion.safetensors' } };
}

describe('resolveModelSpec', () => {
  it.each<[string, EngineWeights, ModelRequest, Partial<ReturnType<typeof resolveModelSpec>>]>([
    ['no head anywhere: meanP, T=8, onnx', weights(), {}, { engine: 'onnx', head: 'meanP', frames: 8, joint: false, shift: false }],
    ["the weights' head and T", weights({ head: 'Transf', fusionOf: 'Transf', frames: 16 }), {}, { head: 'Transf', frames: 16 }],
    ['a head detected from the fusion tensors', weights({ fusionOf: 'LSTM' }), {}, { head: 'LSTM', frames: 8 }],
    ['T fixed by a Transf_cls position table', weights({ fusionOf: 'Transf_cls' }), { head: 'transf-cls' }, { head: 'Transf_cls', frames: 8 }],
    ['meanP asked for over a learned head ignores it', weights({ head: 'Conv_1D', fusionOf: 'Conv_1D' }), { head: 'MeanP' }, { head: 'meanP' }],
    ['options win over the weights', weights({ head: 'Transf', fusionOf: 'Transf', frames: 16 }), { head: 'Transf', frames: 4 }, { frames: 4 }],
    ['a time embedding means Joint, on tfjs', weights({ timeEmbedding: true }), {}, { engine: 'tfjs', joint: true }],
    ['Shift needs tfjs', weights(), { shift: true }, { engine: 'tfjs', shift: true }],
    ['a named tfjs backend means tfjs', weights(), { backend: 'wasm' }, { engine: 'tfjs' }],
    ['an explicit engine', weights(), { engine: 'tfjs' }, { engine: 'tfjs' }],
  ])('%s', (_, w, request, expected) => {
    expect(resolveModelSpec(w, request, noGpu)).toMatchObject(expected);
  });

  it('auto takes tfjs where tfjs-node-gpu sees a GPU, and ACTIONCLIP_ENGINE when no engine is asked for', () => {
    expect(resolveModelSpec(weights(), {}, { tfjsGpuUsable: () => true }).engine).toBe('tfjs');
    expect(resolveModelSpec(weights(), {}, { envEngine: 'tfjs', tfjsGpuUsable: () => false }).engine).toBe('tfjs');
    expect(resolveModelSpec(weights(), { engine: 'onnx' }, { envEngine: 'tfjs', tfjsGpuUsable: () => true }).engine).toBe('onnx');
  });

  it('auto takes webgpu only on a hardware adapter (before tfjs-node-gpu), never over a named tfjs backend; webgpu runs Joint and Shift', () => {
    const hw: EngineProbe = { tfjsGpuUsable: () => true, webgpuHardware: true };
    expect(resolveModelSpec(weights(), {}, hw).engine).toBe('webgpu');
    expect(resolveModelSpec(weights(), {}, { ...noGpu, webgpuHardware: false }).engine).toBe('onnx');
    expect(resolveModelSpec(weights(), { backend: 'wasm' }, hw).engine).toBe('tfjs');
    expect(resolveModelSpec(weights({ timeEmbedding: true }), {}, hw)).toMatchObject({ engine: 'webgpu', joint: true });
    expect(resolveModelSpec(weights(), { engine: 'webgpu', shift: true }, noGpu)).toMatchObject({ engine: 'webgpu', shift: true });
    expect(resolveModelSpec(weights(), {}, { envEngine: 'webgpu', tfjsGpuUsable: () => false }).engine).toBe('webgpu');
  });

  it.each<[string, EngineWeights, ModelRequest, typeof ConfigError | typeof WeightsError, RegExp]>([
    ['an unknown head name', weights(), { head: 'GRU' }, ConfigError, /unknown head "GRU"; use meanP, Conv_1D, LSTM, Transf or Transf_cls/],
    ['frames that are not a positive integer', weights(), { frames: 0 }, ConfigError, /frames must be a positive integer, got 0/],
    ['an unknown engine', weights(), { engine: 'gpu' }, ConfigError, /unknown engine "gpu"/],
    ['Joint with a learned head', weights({ head: 'Transf', fusionOf: 'Transf' }), { joint: true }, ConfigError, /Joint .* meanP/],
    ['Shift on the onnx engine', weights(), { engine: 'onnx', shift: true }, ConfigError, /need the tfjs or webgpu engine/],
    ['a learned head without fusion weights', weights(), { head: 'LSTM' }, WeightsError, /the LSTM head needs fusion weights.*file: clip\.safetensors/],
    ["another head's fusion weights", weights({ head: 'Transf', fusionOf: 'Transf' }), { head: 'LSTM' }, WeightsError, /head LSTM was requested but the fusion weights are a Transf head/],
    ['a T the weights do not fit', weights({ fusionOf: 'Transf_cls' }), { frames: 16 }, WeightsError, /trained for T=8 frames; 16 were requested.*file: fusion\.safetensors/],
  ])('refuses %s', (_, w, request, type, message) => {
    expect(() => resolveModelSpec(w, request, noGpu)).toThrow(type);
    expect(() => resolveModelSpec(w, request, noGpu)).toThrow(message);
  });
});
