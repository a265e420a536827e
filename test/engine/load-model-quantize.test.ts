/** `quantize: int8` through loadModel, the config and the CLI: an ONNX int8 graph, refused elsewhere. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { ConfigError } from '../../src/errors.js';
import { loadModel } from '../../src/engine/load-model.js';
import { quantizeFlag } from '../../src/cli/flags.js';
import { fixture, HAVE_FIXTURES } from '../support/fixtures.js';

describe('quantize option', () => {
  it('the config defaults to none and names a bad value; the flag too', () => {
    expect(loadConfig({ overrides: { weights: 'w' } }).quantize).toBe('none');
    expect(loadConfig({ overrides: { weights: 'w', quantize: 'int8' } }).quantize).toBe('int8');
    expect(() => loadConfig({ overrides: { weights: 'w', quantize: 'int4' } })).toThrow(/quantize/);
    expect(quantizeFlag(undefined)).toBeUndefined();
    expect(quantizeFlag('int8')).toBe('int8');
    expect(() => quantizeFlag('fp8')).toThrow(/--quantize must be none or int8, got "fp8"/);
  });

  it('int8 with another engine asked for is a ConfigError before any weights are read', async () => {
    const err = await loadModel({ weights: '/nonexistent/clip.safetensors', engine: 'tfjs', quantize: 'int8' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/quantize int8 runs on the onnx engine, not tfjs/);
  });

  it.skipIf(!HAVE_FIXTURES)('int8 with engine auto loads the ONNX int8 graph; its precision, part of the text cache key, says so', async () => {
    const opts = { weights: fixture('clip.safetensors'), fusion: fixture('fusion-Transf.safetensors'), head: 'Transf', textCache: false as const };
    const [fp32, int8] = [await loadModel({ ...opts, engine: 'onnx' }), await loadModel({ ...opts, quantize: 'int8' })];
    try {
      expect(int8.info.engine).toBe('onnx');
      expect(int8.info.precision).toMatch(/int8/);
      expect(fp32.info.precision).not.toMatch(/int8/);
    } finally {
      fp32.dispose();
      int8.dispose();
    }
  });
});
