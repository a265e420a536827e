/** GPU probes that load neither engine (the engine choice runs before either is imported). */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A CUDA device is visible to this process (driver node present and not hidden by CUDA_VISIBLE_DEVICES). */
export function cudaGpuVisible(env: NodeJS.ProcessEnv = process.env): boolean {
  const hidden = env.CUDA_VISIBLE_DEVICES !== undefined && (env.CUDA_VISIBLE_DEVICES.trim() === '' || env.CUDA_VISIBLE_DEVICES.trim() === '-1');
  return !hidden && (existsSync('/dev/nvidiactl') || existsSync('/proc/driver/nvidia/version'));
}

/** tfjs-node-gpu is installed (its optional install succeeded) and a CUDA GPU is visible. */
export function tfjsGpuUsable(): boolean {
  if (!cudaGpuVisible()) return false;
  try {
    require.resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
}
