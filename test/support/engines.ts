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
];
