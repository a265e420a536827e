/**
 * tfjs's WebGPU backend on a Dawn device that this module owns. Engines take a lease; the device,
 * the backend and every GPU buffer they made are destroyed when the last lease is released.
 */
import * as tf from '@tensorflow/tfjs';
import { WebGpuUnavailableError, dawnGpu, requestAdapter, type GpuAdapterLike, type GpuBufferLike, type GpuDeviceLike } from './dawn.js';

export const WEBGPU_BACKEND = 'webgpu';

export interface WebGpuLeaseOptions {
  /** Accept a software adapter (lavapipe): tests and CI. */
  readonly allowSoftware: boolean;
}

/** What the engine and its tests may know of the device. */
export interface WebGpuDeviceInfo {
  /** Adapter description, e.g. "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)" or "NVIDIA H100 80GB HBM3". */
  readonly adapter: string;
  readonly software: boolean;
  /** The adapter offers `shader-f16` (half-precision WGSL). */
  readonly shaderF16: boolean;
  /** The largest buffer one shader may bind: bounds the rows per forward pass. */
  readonly maxBindingBytes: number;
}

export interface WebGpuLease {
  readonly device: WebGpuDeviceInfo;
  /** GPU buffers alive on the device now (made by tfjs and not destroyed). */
  liveBuffers(): number;
  /** Makes webgpu the active tfjs backend (another engine in the process may have switched it). */
  activate(): Promise<void>;
  release(): void;
}

interface Shared {
  readonly device: GpuDeviceLike;
  readonly info: WebGpuDeviceInfo;
  readonly buffers: Set<GpuBufferLike>;
  leases: number;
}

let shared: Promise<Shared> | null = null;

/** Counts the device's buffers that are not destroyed: the leak tests' ground truth. */
function trackBuffers(device: GpuDeviceLike): Set<GpuBufferLike> {
  const live = new Set<GpuBufferLike>();
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: unknown): GpuBufferLike => {
    const buffer = create(descriptor);
    live.add(buffer);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      live.delete(buffer);
      destroy();
    };
    return buffer;
  };
  return live;
}

async function openDevice(adapter: GpuAdapterLike): Promise<GpuDeviceLike> {
  const l = adapter.limits;
  // The limits tfjs asks for itself (its own registration does the same), at the adapter's maximum.
  const requiredLimits = {
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
  };
  // timestamp-query lets tf.profile time each kernel (as tfjs's own registration asks for it).
  const requiredFeatures = ['timestamp-query'].filter((f) => adapter.features.has(f));
  try {
    return await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (err) {
    throw new WebGpuUnavailableError('device', `the adapter refused a device (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

/** tfjs-backend-webgpu constructs its backend only where `navigator.gpu` exists, as in a browser. */
function exposeNavigatorGpu(gpu: unknown): void {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: {}, writable: true, configurable: true });
  if (g.navigator!.gpu === undefined) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
}

async function openShared(opts: WebGpuLeaseOptions): Promise<Shared> {
  const choice = await requestAdapter(opts.allowSoftware);
  exposeNavigatorGpu(await dawnGpu());
  // Imported after navigator.gpu exists or not, the module registers its kernels; the backend is ours.
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  const device = await openDevice(choice.adapter);
  const buffers = trackBuffers(device);
  if (tf.findBackendFactory(WEBGPU_BACKEND) !== null) tf.removeBackend(WEBGPU_BACKEND);
  // Priority 0: never tfjs's own default (cpu is 1, wasm 2); only engines that ask get it.
  const info = choice.adapter.info;
  tf.registerBackend(WEBGPU_BACKEND, () => new WebGPUBackend(device as never, { vendor: info.vendor, architecture: info.architecture } as never), 0);
  const features = choice.adapter.features;
  return { device, buffers, leases: 0, info: { adapter: choice.description, software: choice.software, shaderF16: features.has('shader-f16'), maxBindingBytes: choice.adapter.limits.maxStorageBufferBindingSize } };
}

function closeShared(s: Shared): void {
  // removeBackend disposes the backend: its buffer pool (used and free buffers) is destroyed.
  if (tf.findBackendFactory(WEBGPU_BACKEND) !== null) tf.removeBackend(WEBGPU_BACKEND);
  for (const b of [...s.buffers]) b.destroy();
  s.device.destroy();
}

/** A lease on the shared device and backend; the first one opens them (adapter, device, backend). */
export async function acquireWebGpu(opts: WebGpuLeaseOptions): Promise<WebGpuLease> {
  shared ??= openShared(opts);
  let s: Shared;
  try {
    s = await shared;
  } catch (err) {
    shared = null;
    throw err;
  }
  if (s.info.software && !opts.allowSoftware) {
    throw new WebGpuUnavailableError('software-only', `the only adapter is a software one (${s.info.adapter})`);
  }
  s.leases++;
  let released = false;
  return {
    device: s.info,
    liveBuffers: () => s.buffers.size,
    activate: async () => {
      if (released) throw new Error('webgpu lease used after release');
      if (tf.getBackend() !== WEBGPU_BACKEND) await tf.setBackend(WEBGPU_BACKEND);
    },
    release: () => {
      if (released) return;
      released = true;
      if (--s.leases === 0) {
        shared = null;
        closeShared(s);
      }
    },
  };
}
