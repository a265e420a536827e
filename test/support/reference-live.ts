// The live configuration of tests that run the reference model (the tiny ActionCLIP of the shared
// fixtures, loaded through loadModel) on real cameras: three labels, T=8 windows every 4 frames.
import { loadConfig, type ConfigInput } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { fixture } from './fixtures.js';

export function referenceLiveConfig(overrides: ConfigInput = {}): Config {
  return loadConfig({
    overrides: {
      weights: fixture('clip.safetensors'),
      fusion: fixture('fusion-Transf.safetensors'),
      head: 'Transf',
      engine: 'tfjs',
      labels: ['walking', 'running', 'jumping'],
      window: 8,
      stride: 4,
      fps: 4,
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      ...overrides,
    },
  });
}
