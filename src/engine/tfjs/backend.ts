import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../errors.js';
import { cudaGpuVisible } from '../gpu.js';

/** TensorFlow.js backends in the order we prefer them. */
export const BACKEND_PREFERENCE = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_PREFERENCE)[number];
export const BACKEND_ENV = 'ACTIONCLIP_BACKEND';

export interface BackendSelection {
  /** What was chosen, and the tfjs backend name now active ('tensorflow' for both native ones). */
  readonly choice: BackendChoice;
  readonly tfBackend: string;
  /** Why: the override used, or what was unavailable. */
  readonly reason: string;
  readonly details: Record<string, unknown>;
}

export type BackendLogger = (message: string, details: Record<string, unknown>) => void;

const require = createRequire(import.meta.url);
const defaultLogger: BackendLogger = (message, details) => {
  process.stderr.write(`${JSON.stringify({ level: 'info', component: 'tfjs-backend', msg: message, ...details })}\n`);
};

function moduleLoads(name: string): { ok: boolean; error?: string } {
  try {
    // tfjs-node(-gpu) registers the 'tensorflow' backend on require; a failed optional install throws here.
    require(name);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message.split('\n')[0] : String(err) };
  }
}

async function activate(choice: BackendChoice): Promise<{ ok: boolean; tfBackend: string; error?: string; details: Record<string, unknown> }> {
  switch (choice) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      if (choice === 'tensorflow-gpu' && !cudaGpuVisible()) return { ok: false, tfBackend: 'tensorflow', error: 'no CUDA GPU visible', details: {} };
      const loaded = moduleLoads(choice === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
      if (!loaded.ok) return { ok: false, tfBackend: 'tensorflow', error: loaded.error, details: {} };
      const ok = await tf.setBackend('tensorflow');
      return { ok, tfBackend: 'tensorflow', error: ok ? undefined : 'tf.setBackend(tensorflow) failed', details: {} };
    }
    case 'wasm': {
      try {
        await import('@tensorflow/tfjs-backend-wasm');
        const ok = await tf.setBackend('wasm');
        await tf.ready();
        return {
          ok,
          tfBackend: 'wasm',
          error: ok ? undefined : 'tf.setBackend(wasm) failed',
          // Threads need SharedArrayBuffer workers, which the wasm backend only sets up in browsers.
          details: { simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') },
        };
      } catch (err) {
        return { ok: false, tfBackend: 'wasm', error: err instanceof Error ? err.message : String(err), details: {} };
      }
    }
    case 'cpu': {
      const ok = await tf.setBackend('cpu');
      return { ok, tfBackend: 'cpu', error: ok ? undefined : 'tf.setBackend(cpu) failed', details: {} };
    }
  }
}

export function parseBackend(value: string, origin: string): BackendChoice {
  const v = value.trim().toLowerCase();
  const alias: Record<string, BackendChoice> = { gpu: 'tensorflow-gpu', 'tfjs-node-gpu': 'tensorflow-gpu', node: 'tensorflow', 'tfjs-node': 'tensorflow', native: 'tensorflow' };
  const choice = (BACKEND_PREFERENCE as readonly string[]).includes(v) ? (v as BackendChoice) : alias[v];
  if (choice === undefined) throw new ConfigError(`${origin}: unknown backend "${value}"; use one of ${BACKEND_PREFERENCE.join(', ')} (or auto)`);
  return choice;
}

/**
 * Chooses and activates the best available backend: tfjs-node-gpu with a visible CUDA GPU, then
 * tfjs-node, then wasm, then cpu. An explicit `requested` (config) or ACTIONCLIP_BACKEND (env) wins;
 * an override that cannot be activated is an error rather than a silent fallback.
 */
export async function selectBackend(requested?: string, log: BackendLogger = defaultLogger, env: NodeJS.ProcessEnv = process.env): Promise<BackendSelection> {
  const fromConfig = requested !== undefined && requested !== 'auto' ? parseBackend(requested, 'backend option') : undefined;
  const fromEnv = fromConfig === undefined && env[BACKEND_ENV] && env[BACKEND_ENV] !== 'auto' ? parseBackend(env[BACKEND_ENV], BACKEND_ENV) : undefined;
  const forced = fromConfig ?? fromEnv;
  if (forced !== undefined) {
    const r = await activate(forced);
    if (!r.ok) throw new ConfigError(`backend "${forced}" requested by ${fromConfig ? 'the backend option' : BACKEND_ENV} is unavailable: ${r.error}`);
    const sel = { choice: forced, tfBackend: r.tfBackend, reason: `requested by ${fromConfig ? 'config' : BACKEND_ENV}`, details: r.details };
    log(`tfjs backend: ${forced}`, { backend: forced, reason: sel.reason, ...r.details });
    return sel;
  }
  const skipped: string[] = [];
  for (const choice of BACKEND_PREFERENCE) {
    const r = await activate(choice);
    if (r.ok) {
      const reason = skipped.length ? `best available (${skipped.join('; ')})` : 'best available';
      log(`tfjs backend: ${choice}`, { backend: choice, reason, ...r.details });
      return { choice, tfBackend: r.tfBackend, reason, details: r.details };
    }
    skipped.push(`${choice}: ${r.error}`);
  }
  throw new ConfigError(`no TensorFlow.js backend could be activated (${skipped.join('; ')})`);
}
