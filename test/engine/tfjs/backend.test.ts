import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BACKEND_ENV, parseBackend, selectBackend } from '../../../src/engine/tfjs/backend.js';
import { ConfigError } from '../../../src/errors.js';

const require = createRequire(import.meta.url);
const resolvable = (m: string): boolean => {
  try {
    require.resolve(m);
    return true;
  } catch {
    return false;
  }
};

describe('tfjs backend selection', () => {
  it('picks the best available backend in order and logs the choice', async () => {
    const logs: string[] = [];
    const sel = await selectBackend(undefined, (m) => logs.push(m), {});
    expect(tf.getBackend()).toBe(sel.tfBackend);
    expect(logs).toEqual([`tfjs backend: ${sel.choice}`]);
    if (!resolvable('@tensorflow/tfjs-node') && !resolvable('@tensorflow/tfjs-node-gpu')) {
      // Without the native bindings (their install needs internet) wasm is next in line.
      expect(sel.choice).toBe('wasm');
      expect(sel.reason).toMatch(/tensorflow: /);
      expect(sel.details).toMatchObject({ simd: true });
    }
  });

  it('honours the config key over the environment variable, and the environment over auto', async () => {
    const fromEnv = await selectBackend(undefined, () => {}, { [BACKEND_ENV]: 'cpu' });
    expect(fromEnv.choice).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const fromConfig = await selectBackend('wasm', () => {}, { [BACKEND_ENV]: 'cpu' });
    expect(fromConfig.choice).toBe('wasm');
    expect(fromConfig.reason).toBe('requested by config');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('rejects an unknown name and an unavailable override with a clear error', async () => {
    expect(() => parseBackend('webgpu', 'backend option')).toThrow(/unknown backend "webgpu"/);
    await expect(selectBackend(undefined, () => {}, { [BACKEND_ENV]: 'bogus' })).rejects.toThrow(ConfigError);
    if (!resolvable('@tensorflow/tfjs-node')) {
      await expect(selectBackend('tensorflow', () => {}, {})).rejects.toThrow(/backend "tensorflow" requested by the backend option is unavailable/);
    }
    if (!resolvable('@tensorflow/tfjs-node-gpu')) {
      await expect(selectBackend('gpu', () => {}, {})).rejects.toThrow(/tensorflow-gpu.*unavailable/);
    }
  });
});
