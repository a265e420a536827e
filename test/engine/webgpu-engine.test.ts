/**
 * The webgpu engine beyond parity: GPU memory is given back on dispose (tensors, bytes and the
 * GPU buffers themselves), a software adapter is used only when asked for, and what it refuses it
 * refuses with a typed error that names what to install. Parity itself is test/engine/parity.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { isSoftwareAdapter, WebGpuUnavailableError } from '../../src/engine/webgpu/dawn.js';
import { chunkSizes, createWebGpuEngine, type WebGpuEngine } from '../../src/engine/webgpu/webgpu-engine.js';
import { ConfigError } from '../../src/errors.js';
import { loadWeights } from '../../src/model/weights/load-weights.js';
import { webgpuSkipReason } from '../support/engines.js';
import { FIXTURE_DIR, HAVE_FIXTURES } from '../support/fixtures.js';
import { referenceCases } from '../support/reference-weights.js';

const skip = webgpuSkipReason();
if (skip !== null) console.warn(`[webgpu] ${skip}`);

describe('webgpu adapters', () => {
  it('tells a software rasteriser from a GPU', () => {
    const info = { vendor: 'mesa', architecture: '', device: '', description: '' };
    expect(isSoftwareAdapter({ ...info, architecture: 'software' })).toBe(true);
    expect(isSoftwareAdapter({ ...info, description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)' })).toBe(true);
    expect(isSoftwareAdapter({ ...info, vendor: 'google', description: 'SwiftShader Device (Subzero)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100 80GB HBM3' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100', isFallbackAdapter: true })).toBe(true);
  });

  it('an unavailable engine is a ConfigError naming the package, the driver and the switch for software', () => {
    const err = new WebGpuUnavailableError('software-only', 'the only adapter is a software one (llvmpipe)');
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/ACTIONCLIP_WEBGPU_ALLOW_SOFTWARE=1/);
    expect(err.message).toMatch(/npm install webgpu/);
    expect(err.message).toMatch(/libvulkan1/);
  });
});

describe.skipIf(!HAVE_FIXTURES || skip !== null)('webgpu engine on the reference model', () => {
  const open: WebGpuEngine[] = [];
  const engine = async (head: 'meanP' | 'Transf', allowSoftware = true): Promise<WebGpuEngine> => {
    const e = await createWebGpuEngine(await loadWeights(FIXTURE_DIR, { fusion: head }), { head, frames: 8, allowSoftware });
    open.push(e);
    return e;
  };
  afterAll(() => open.forEach((e) => e.dispose()));

  it('frees every tensor, byte and GPU buffer on dispose, and leaves nothing behind per call', async () => {
    const cases = await referenceCases();
    const frames = cases.get('frames')!.data as Float32Array;
    const tokens = cases.get('text_tokens')!.data as Int32Array;
    const baseTensors = tf.memory().numTensors;
    const gpuMemory = (): { numTensors: number; numBytesInGPU: number } => {
      const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
      return { numTensors: m.numTensors, numBytesInGPU: m.numBytesInGPU };
    };
    const a = await engine('meanP');
    console.log(`[webgpu] adapter: ${a.info.backend}`);
    // Measured after a call: a readback submits the queue, which frees the pending uniform buffers.
    await a.encodeFrames(frames, 16);
    const afterA = gpuMemory();
    await a.encodeFrames(frames, 16);
    await a.encodeText(tokens, 80);
    expect(gpuMemory()).toEqual(afterA);

    const b = await engine('Transf');
    await b.fuse(cases.get('frame_embeddings')!.data as Float32Array, 2);
    const afterB = gpuMemory();
    expect(b.gpu.liveBuffers()).toBeGreaterThan(0);
    a.dispose();
    // a's weights are gone; b's are all that is left.
    expect(gpuMemory()).toEqual({ numTensors: baseTensors + afterB.numTensors - afterA.numTensors, numBytesInGPU: afterB.numBytesInGPU - afterA.numBytesInGPU });
    b.dispose();
    expect(tf.memory().numTensors).toBe(baseTensors);
    // The last engine out destroys the device's buffers (tfjs's pool too) and the backend.
    expect(b.gpu.liveBuffers()).toBe(0);
    expect(tf.findBackend('webgpu')).toBeNull();
    await expect(b.encodeText(tokens, 80)).rejects.toThrow(/disposed/);
  });

  it('shares the process with a tfjs engine: each call runs on its own engine\'s backend', async () => {
    const cases = await referenceCases();
    const frames = cases.get('frames')!.data as Float32Array;
    const { createTfjsEngine } = await import('../../src/engine/tfjs/tfjs-engine.js');
    const cpu = await createTfjsEngine(await loadWeights(FIXTURE_DIR), { backend: 'wasm', log: () => {} });
    try {
      const before = await cpu.encodeFrames(frames, 16);
      const gpu = await engine('meanP');
      await gpu.encodeFrames(frames, 16);
      expect(tf.getBackend()).toBe('webgpu');
      expect(await cpu.encodeFrames(frames, 16)).toEqual(before);
      expect(tf.getBackend()).toBe('wasm');
    } finally {
      cpu.dispose();
    }
  });

  it('uses a software adapter only when asked for', async (ctx) => {
    const e = await engine('meanP');
    if (!e.gpu.software) return ctx.skip();
    const err = await engine('meanP', false).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(WebGpuUnavailableError);
    expect((err as WebGpuUnavailableError).reason).toBe('software-only');
  });

  it('refuses fp16 (tfjs WebGPU tensors are float32) with a ConfigError', async () => {
    const w = await loadWeights(FIXTURE_DIR);
    await expect(createWebGpuEngine(w, { allowSoftware: true, precision: 'float16' })).rejects.toThrow(ConfigError);
  });

  it('sizes its chunks so one attention or MLP activation fits the largest buffer binding', async () => {
    const w = await loadWeights(FIXTURE_DIR);
    // Fixture: 17 image tokens, width 128 (2 heads): an MLP row is 17·512·4 bytes.
    expect(chunkSizes(w, 128 * 2 ** 20)).toEqual({ frames: 256, text: 256 });
    expect(chunkSizes(w, 17 * 512 * 4 * 10)).toMatchObject({ frames: 10 });
    expect(chunkSizes(w, 1)).toEqual({ frames: 1, text: 1 });
  });
});
