/** ONNX Runtime sessions: execution-provider detection and fallback, threads, optimisation level. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

export type ProviderName = 'cpu' | 'cuda' | 'tensorrt';
export type ProviderRequest = ProviderName | 'auto';
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** pino- and console-compatible. */
export interface OnnxLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export const consoleLogger: OnnxLogger = {
  info: () => {},
  warn: (m) => console.warn(`[onnx] ${m}`),
};

export interface SessionSettings {
  provider: ProviderRequest;
  deviceId: number;
  intraOpNumThreads: number;
  interOpNumThreads: number;
  graphOptimizationLevel: GraphOptimizationLevel;
  /** Let idle intra-op threads spin-wait (lower latency on dedicated cores, wasted CPU on shared ones). */
  allowSpinning: boolean;
  logger: OnnxLogger;
}

export function defaultThreads(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Where the native binding and any provider libraries live. */
function bindingDir(): string | null {
  try {
    const req = createRequire(import.meta.url);
    const main = req.resolve('onnxruntime-node');
    return path.resolve(path.dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
}

/**
 * Whether the installed onnxruntime-node can run `name`, and if not, why. CUDA/TensorRT are not
 * bundled in the npm package: their provider libraries are fetched by its install script (skipped
 * when offline), so the library file is checked as well as the binding's list.
 */
export function providerAvailability(name: ProviderName): { ok: boolean; reason?: string } {
  if (name === 'cpu') return { ok: true };
  let listed: { name: string; bundled: boolean }[];
  try {
    listed = ort.listSupportedBackends();
  } catch (err) {
    return { ok: false, reason: `listSupportedBackends failed: ${String(err)}` };
  }
  const entry = listed.find((b) => b.name === name);
  if (entry === undefined) return { ok: false, reason: `onnxruntime-node ${ort.env.versions.node ?? ''} on ${process.platform}/${process.arch} has no ${name} provider` };
  if (entry.bundled) return { ok: true };
  const dir = bindingDir();
  const lib = `libonnxruntime_providers_${name}.so`;
  if (dir !== null && process.platform === 'linux' && !existsSync(path.join(dir, lib))) {
    return { ok: false, reason: `${lib} is not installed in ${dir} (onnxruntime-node's install script downloads it; it was skipped: scripts/setup.sh sets ONNXRUNTIME_NODE_INSTALL=skip unless ONNXRUNTIME_NODE_INSTALL=cuda12 is given)` };
  }
  return { ok: true };
}

/** Provider chain to try, best first: the request, or for 'auto' TensorRT > CUDA > CPU, whichever is installed. */
export function providerCandidates(req: ProviderRequest, logger: OnnxLogger): ProviderName[] {
  const wanted: ProviderName[] = req === 'auto' ? ['tensorrt', 'cuda', 'cpu'] : [req];
  const out: ProviderName[] = [];
  for (const p of wanted) {
    const a = providerAvailability(p);
    if (a.ok) out.push(p);
    else if (req !== 'auto') logger.warn(`execution provider '${p}' unavailable, falling back to cpu: ${a.reason}`);
  }
  if (!out.includes('cpu')) out.push('cpu');
  return out;
}

function epList(p: ProviderName, deviceId: number): ort.InferenceSession.ExecutionProviderConfig[] {
  // Later entries take the nodes earlier ones cannot run (TensorRT has no com.microsoft kernels).
  if (p === 'tensorrt') return [{ name: 'tensorrt', deviceId }, { name: 'cuda', deviceId }, 'cpu'];
  if (p === 'cuda') return [{ name: 'cuda', deviceId }, 'cpu'];
  return ['cpu'];
}

export function sessionOptions(s: SessionSettings, p: ProviderName): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: epList(p, s.deviceId),
    intraOpNumThreads: s.intraOpNumThreads,
    interOpNumThreads: s.interOpNumThreads,
    executionMode: 'sequential',
    graphOptimizationLevel: s.graphOptimizationLevel,
    enableCpuMemArena: true,
    enableMemPattern: true,
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: s.allowSpinning ? '1' : '0' } } },
  };
}

/**
 * Opens `model` on the first provider of `candidates` that accepts it, logging each fallback.
 * Returns the session and the provider actually used.
 */
export async function openSession(model: string | Uint8Array, candidates: readonly ProviderName[], s: SessionSettings): Promise<{ session: ort.InferenceSession; provider: ProviderName }> {
  let lastErr: unknown;
  for (const p of candidates) {
    try {
      const session = typeof model === 'string' ? await ort.InferenceSession.create(model, sessionOptions(s, p)) : await ort.InferenceSession.create(model, sessionOptions(s, p));
      return { session, provider: p };
    } catch (err) {
      lastErr = err;
      if (p !== 'cpu') s.logger.warn(`execution provider '${p}' failed to open the model, trying the next one: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw lastErr;
}
