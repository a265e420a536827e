/**
 * Dawn in Node: the optional `webgpu` npm package (dist/<platform>-<arch>/dawn.node), its adapter,
 * and whether that adapter is real hardware. Loads nothing until asked; a missing package or
 * adapter is a WebGpuUnavailableError that names what to install.
 */
import { createRequire } from 'node:module';
import { ConfigError } from '../../errors.js';

/** Set to 1 to let the engine run on a software adapter (lavapipe/llvmpipe, SwiftShader): tests and CI. */
export const ALLOW_SOFTWARE_ENV = 'ACTIONCLIP_WEBGPU_ALLOW_SOFTWARE';
/** Extra Dawn options for `create()`, comma-separated (e.g. `backend=vulkan,adapter=NVIDIA H100`). */
export const DAWN_OPTIONS_ENV = 'ACTIONCLIP_WEBGPU_DAWN_OPTIONS';

const INSTALL_HINT =
  'install the optional npm package `webgpu` (0.6.x: `npm install webgpu`), a Vulkan driver for your GPU and the Vulkan loader (Debian: libvulkan1); ' +
  'for tests without a GPU, Mesa >= 24 lavapipe (bookworm-backports mesa-vulkan-drivers: scripts/install-system-deps.sh --test) with ' +
  `${ALLOW_SOFTWARE_ENV}=1`;

/** The webgpu engine cannot run here: what is missing and what to install. */
export class WebGpuUnavailableError extends ConfigError {
  constructor(
    readonly reason: 'package' | 'adapter' | 'software-only' | 'device',
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super(`webgpu engine unavailable: ${detail}. To use it, ${reason === 'software-only' ? `set ${ALLOW_SOFTWARE_ENV}=1 (software adapters are slow: tests only), or ` : ''}${INSTALL_HINT}`, options);
  }
}

/** The few GPU types we touch (the full ones are @webgpu/types, which this project does not compile against). */
export interface GpuAdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly isFallbackAdapter?: boolean;
}
export interface GpuBufferLike {
  readonly size: number;
  destroy(): void;
}
export interface GpuDeviceLike {
  createBuffer(descriptor: unknown): GpuBufferLike;
  destroy(): void;
}
export interface GpuAdapterLike {
  readonly info: GpuAdapterInfo;
  readonly features: ReadonlySet<string>;
  readonly limits: Record<string, number>;
  requestDevice(descriptor?: unknown): Promise<GpuDeviceLike>;
}
export interface GpuLike {
  requestAdapter(options?: unknown): Promise<GpuAdapterLike | null>;
}
interface DawnModule {
  create(options: string[]): GpuLike;
  globals: Record<string, unknown>;
}

const require = createRequire(import.meta.url);
let dawn: Promise<DawnModule> | null = null;

/** Imports the `webgpu` package once (it loads dawn.node) and installs its globals (GPUBufferUsage...). */
export function loadDawn(): Promise<DawnModule> {
  dawn ??= (async () => {
    let entry: string;
    try {
      entry = require.resolve('webgpu');
    } catch (err) {
      throw new WebGpuUnavailableError('package', 'the npm package `webgpu` is not installed', { cause: err });
    }
    try {
      const mod = (await import('webgpu')) as unknown as DawnModule;
      // tfjs-backend-webgpu reads GPUBufferUsage, GPUMapMode... as globals, as in a browser.
      for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) Object.assign(globalThis, { [k]: v });
      return mod;
    } catch (err) {
      throw new WebGpuUnavailableError('package', `${entry} did not load (${err instanceof Error ? err.message.split('\n')[0] : String(err)}; dawn.node is shipped for linux-x64, linux-arm64, darwin and win32)`, { cause: err });
    }
  })();
  dawn.catch(() => (dawn = null));
  return dawn;
}

/** A software rasteriser posing as a GPU: lavapipe/llvmpipe, SwiftShader, WARP, or Dawn's fallback flag. */
export function isSoftwareAdapter(info: GpuAdapterInfo): boolean {
  if (info.isFallbackAdapter === true || info.architecture === 'software') return true;
  return /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render/i.test(`${info.vendor} ${info.device} ${info.description}`);
}

export function describeAdapter(info: GpuAdapterInfo): string {
  return info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unknown adapter';
}

export function allowSoftwareFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[ALLOW_SOFTWARE_ENV];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** The `navigator.gpu` Dawn gives (one per process: Dawn's instance is created once). */
let gpu: GpuLike | null = null;
export async function dawnGpu(): Promise<GpuLike> {
  const mod = await loadDawn();
  const extra = (process.env[DAWN_OPTIONS_ENV] ?? '').split(',').filter((s) => s.trim() !== '');
  gpu ??= mod.create(extra);
  return gpu;
}

export interface AdapterChoice {
  readonly adapter: GpuAdapterLike;
  readonly software: boolean;
  readonly description: string;
}

/** The high-performance adapter; a software one only when `allowSoftware`. */
export async function requestAdapter(allowSoftware: boolean): Promise<AdapterChoice> {
  const g = await dawnGpu();
  const adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) throw new WebGpuUnavailableError('adapter', 'Dawn found no GPU adapter (no Vulkan, Metal or D3D12 device, or a driver Dawn rejects, such as Mesa 22 lavapipe)');
  const software = isSoftwareAdapter(adapter.info);
  const description = describeAdapter(adapter.info);
  if (software && !allowSoftware) throw new WebGpuUnavailableError('software-only', `the only adapter is a software one (${description})`);
  return { adapter, software, description };
}

/** For engine auto: whether a hardware adapter is there. Never throws; false when Dawn or an adapter is missing. */
export async function hardwareAdapterPresent(): Promise<boolean> {
  try {
    return !(await requestAdapter(false)).software;
  } catch {
    return false;
  }
}
