/** GPU probes that load neither engine (the engine choice runs before either is imported). */
import { existsSync, readdirSync } from 'node:fs';
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

/** A GPU device node Dawn could open: DRM render nodes, NVIDIA's, WSL's; other platforms are asked directly. */
function gpuDeviceNodes(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    if (readdirSync('/dev/dri').some((n) => n.startsWith('renderD'))) return true;
  } catch {
    // no /dev/dri
  }
  return existsSync('/dev/nvidia0') || existsSync('/dev/dxg');
}

/**
 * For engine auto: Dawn (the optional `webgpu` package) sees a hardware adapter. The cheap checks
 * come first, so a machine without the package or a GPU device node never loads dawn.node.
 */
export async function webgpuHardwarePresent(): Promise<boolean> {
  try {
    require.resolve('webgpu');
  } catch {
    return false;
  }
  if (!gpuDeviceNodes()) return false;
  const { hardwareAdapterPresent } = await import('./webgpu/dawn.js');
  return hardwareAdapterPresent();
}
