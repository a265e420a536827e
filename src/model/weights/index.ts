/** Weights layer: reading safetensors / torch.save checkpoints, key layouts, validation, download. */
export type { HostTensor, TensorMap } from './tensor-map.js';
export { elementCount } from './tensor-map.js';
export { parseSafetensors, readSafetensors, readSafetensorsHeader, serializeSafetensors, writeSafetensors, type SafetensorsFile } from './safetensors.js';
export { bfloat16ToFloat32, float16ToFloat32, halfToFloat } from './float16.js';
export {
  isHostTensor,
  isPyDict,
  parseTorchCheckpoint,
  readTorchCheckpoint,
  TensorRef,
  type PyDict,
  type PyKey,
  type PyValue,
  type ReadTorchOptions,
  type TorchCheckpoint,
  type TorchDtype,
} from './torch-checkpoint.js';
export {
  detectClipLayout,
  detectFrames,
  detectFusionHead,
  huggingFaceToOpenAi,
  isIgnoredKey,
  openAiToHuggingFace,
  stripModulePrefix,
  type ClipLayout,
  type KeyMapResult,
} from './key-maps.js';
export { loadWeights, validateFusionWeights, type LoadedWeights, type LoadWeightsOptions } from './load-weights.js';
export { validateClipWeights } from './validate-clip.js';
export { downloadWeights, sha256File, type DownloadOptions, type DownloadProgress } from './download.js';
export { cliDownloadProgress, type CliProgressOptions } from './download-progress.js';
