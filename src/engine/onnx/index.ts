export { buildOnnxEngine, createOnnxEngine, type OnnxEngine, type OnnxEngineOptions } from './onnx-engine.js';
export { GRAPH_BUILDER_VERSION, defaultCacheDir } from './cache.js';
export { buildImageGraph, buildTextGraph } from './clip-graphs.js';
export { buildFusionGraph } from './fusion-graphs.js';
export { providerAvailability, type OnnxLogger, type ProviderName, type ProviderRequest } from './session.js';
export type { BlockImpl, Quantization } from './layers.js';
