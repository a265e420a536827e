/** The head registry: names, and each head's layout agreeing with its own initialiser. */
import { describe, expect, it } from 'vitest';
import { HEADS, HEAD_NAMES, headDefinition, headOwning, parseHeadName } from '../../src/heads/registry.js';
import { createRng } from '../../src/training/rng.js';
import { detectFrames, detectFusionHead } from '../../src/model/weights/key-maps.js';
import { syntheticFusionWeights } from '../../src/model/weights/synthetic-weights.js';

describe('head registry', () => {
  it('lists the paper heads in order and parses their spellings', () => {
    expect(HEAD_NAMES).toEqual(['meanP', 'Conv_1D', 'LSTM', 'Transf', 'Transf_cls']);
    const spellings: [string, string | undefined][] = [
      ['MeanP', 'meanP'],
      ['conv1d', 'Conv_1D'],
      ['Conv', 'Conv_1D'],
      ['lstm', 'LSTM'],
      ['TRANSF', 'Transf'],
      ['Transf-cls', 'Transf_cls'],
      ['GRU', undefined],
    ];
    for (const [s, name] of spellings) expect(parseHeadName(s), s).toBe(name);
  });

  it.each(HEADS.filter((h) => h.learned).map((h) => h.name))('%s: fresh weights are detected as the head and pass its validation', (name) => {
    const head = headDefinition(name);
    const w = head.init({ embedDim: 16, frames: 6, contextLength: 77 }, createRng(3));
    expect(headOwning([...w.keys()])).toBe(name);
    expect(HEADS.filter((h) => h.owns([...w.keys()])).map((h) => h.name)).toEqual([name]);
    expect(detectFusionHead(w, 'f')).toBe(name);
    expect(() => head.validate(w, { embedDim: 16, frames: 6, contextLength: 77 }, 'f')).not.toThrow();
    expect(() => head.validate(w, { embedDim: 32, frames: 6, contextLength: 77 }, 'f')).toThrow(/file: f/);
    expect(detectFrames(w, undefined, 'f')).toBe(name === 'Transf_cls' ? 6 : null);
    const synthetic = syntheticFusionWeights(name, 16, 6)!;
    expect([...synthetic].map(([k, t]) => [k, t.shape])).toEqual([...w].map(([k, t]) => [k, t.shape]));
  });

  it('meanP has no weights', () => {
    expect(headDefinition('meanP').init({ embedDim: 16, frames: 6, contextLength: 77 }, createRng(3)).size).toBe(0);
    expect(syntheticFusionWeights('meanP', 16, 6)).toBeNull();
  });
});
