/** actionclip-stream's library API. */
export { loadModel, type LoadModelOptions, type EngineChoice } from './model/load-model.js';
export { ActionClipModel, type ModelInfo } from './model/action-clip-model.js';
export { preprocessFrame, preprocessFrames, CLIP_MEAN, CLIP_STD } from './model/preprocess.js';
export { tokenize } from './model/tokenizer.js';
export { ACTIONCLIP_TEMPLATES, expandPrompts } from './model/prompts.js';
export { scoreVideos, templateAveragedProbs } from './model/scoring.js';
export { klContrastiveLoss, videoTextLogits, multiPositiveTargets } from './model/loss.js';
export { HEAD_NAMES, type HeadName } from './model/heads.js';
export type { Engine, EngineInfo } from './engine/engine.js';
export { ConfigError, WeightsError, SourceError, ActionClipError } from './errors.js';
