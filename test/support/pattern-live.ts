// The live configuration of tests that run one real ffmpeg test-pattern camera through the
// deterministic engine double: small frames and batches, so windows come within a second.
import { loadConfig, type ConfigInput } from '../../config/load.js';
import type { Config } from '../../config/schema.js';

export function patternLiveConfig(overrides: ConfigInput = {}): Config {
  return loadConfig({
    overrides: {
      weights: 'deterministic-test-double',
      cameras: [{ id: 'pattern', url: 'lavfi:testsrc=size=64x48:rate=20' }],
      labels: ['walking', 'running'],
      window: 8,
      stride: 4,
      fps: 10,
      decode: { width: 8, height: 8 },
      batching: { maxBatch: 4, maxWaitMs: 20, queueCapacity: 8 },
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      ...overrides,
    },
  });
}
