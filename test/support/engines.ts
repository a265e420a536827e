/**
 * Every engine the parity suite and the benchmark run, as factories. Add an engine or a variant by
 * appending to ENGINE_FACTORIES; nothing else needs to change.
 */
import type { Engine, EngineOptions, EngineWeights } from '../../src/engine/engine.js';

export interface EngineFactoryOptions extends EngineOptions {
  /** A scratch directory under os.tmpdir() (graph caches and the like). */
  readonly tmpDir: string;
}

export interface EngineFactory {
  /** Shown in test names and benchmark tables, e.g. `onnx-cpu`. */
  readonly name: string;
  /** null when the engine can run here; otherwise why not (the suite reports it as skipped). */
  unavailable(): Promise<string | null>;
  create(weights: EngineWeights, opts: EngineFactoryOptions): Promise<Engine>;
}

/**
 * The webgpu engine runs wherever the reference fixtures are (CI installs lavapipe with
 * scripts/install-system-deps.sh --test), on a software adapter if that is all there is. A machine
 * without Dawn or an adapter FAILS these tests, naming what to install; only an explicit
 * ACTIONCLIP_SKIP_WEBGPU=1 (a machine known to lack the GPU stack) skips them, and says so.
 */
export const SKIP_WEBGPU_ENV = 'ACTIONCLIP_SKIP_WEBGPU';
export function webgpuSkipReason(env: NodeJS.ProcessEnv = process.env): string | null {
  const v = env[SKIP_WEBGPU_ENV];
  return v !== undefined && v !== '' && v !== '0' ? `${SKIP_WEBGPU_ENV}=${v}: the webgpu engine's tests are SKIPPED on this machine` : null;
}

const quiet = { info: () => {}, warn: (m: string) => console.warn(`[onnx] ${m}`) };

export const ENGINE_FACTORIES: EngineFactory[] = [
  {
    // The TensorFlow.js engine on the backend CI has (the native backends need a download).
    name: 'tfjs-wasm',
    unavailable: async () => null,
    async create(weights, opts) {
      const { createTfjsEngine } = await import('../../src/engine/tfjs/tfjs-engine.js');
      return createTfjsEngine(weights, { ...opts, backend: 'wasm', log: () => {} });
    },
  },
  {
    name: 'onnx-cpu',
    unavailable: async () => null,
    async create(weights, opts) {
      const { createOnnxEngine } = await import('../../src/engine/onnx/index.js');
      return createOnnxEngine(weights, { ...opts, provider: 'cpu', cacheDir: opts.tmpDir, logger: quiet });
    },
  },
  {
    // Standard opset-17 ops only (what TensorRT or other runtimes without com.microsoft kernels get).
    name: 'onnx-cpu-standard-ops',
    unavailable: async () => null,
    async create(weights, opts) {
      const { createOnnxEngine } = await import('../../src/engine/onnx/index.js');
      return createOnnxEngine(weights, { ...opts, provider: 'cpu', impl: 'onnx', cacheDir: opts.tmpDir, logger: quiet });
    },
  },
  {
    // The tfjs network on Dawn WebGPU: lavapipe in CI, a GPU where there is one.
    name: 'webgpu',
    unavailable: async () => webgpuSkipReason(),
    async create(weights, opts) {
      const { createWebGpuEngine } = await import('../../src/engine/webgpu/webgpu-engine.js');
      return createWebGpuEngine(weights, { ...opts, allowSoftware: true });
    },
  },
];
