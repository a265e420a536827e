/** actionclip-stream's library API. */
export { loadModel, type LoadModelOptions } from './engine/load-model.js';
export { pullModel, type PulledModel, type PullOptions } from './models/pull-model.js';
export { resolveWeights } from './models/resolve-weights.js';
export { listCachedModels, removeCachedModel, actionclipHome } from './models/model-cache.js';
export { BUILTIN_CATALOGUE, type CatalogueEntry } from './models/catalogue.js';
export { resolveModelSpec, type EngineChoice, type ModelSpec } from './engine/model-spec.js';
export { ActionClipModel, type ModelInfo } from './engine/action-clip-model.js';
export { preprocessFrame, preprocessFrames, CLIP_MEAN, CLIP_STD } from './model/preprocess.js';
export { tokenize } from './model/tokenizer.js';
export { ACTIONCLIP_TEMPLATES, expandPrompts } from './model/prompts.js';
export { encodePrompts } from './model/encode-prompts.js';
export { vocabularyEmbeddings } from './model/vocabulary-embeddings.js';
export { TextEmbeddingCache, type TextCacheOptions } from './model/text-cache/text-embedding-cache.js';
export { scoreVideos, templateAveragedProbs } from './model/scoring.js';
export { klContrastiveLoss, videoTextLogits, multiPositiveTargets } from './training/loss.js';
export { HEAD_NAMES, type HeadName } from './heads/registry.js';
export type { Engine, EngineInfo } from './engine/engine.js';
export { ConfigError, WeightsError, SourceError, ActionClipError } from './errors.js';
// Loads nothing heavy: dawn.node is imported only when an engine asks for it.
export { WebGpuUnavailableError, ALLOW_SOFTWARE_ENV as WEBGPU_ALLOW_SOFTWARE_ENV } from './engine/webgpu/dawn.js';
