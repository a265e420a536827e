import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { ACTIONCLIP_TEMPLATES, applyTemplate, expandPrompts } from '../../src/model/prompts.js';
import { fixtureMeta, HAVE_FIXTURES } from '../support/fixtures.js';

describe('prompts', () => {
  it('expands template-major', () => {
    expect(expandPrompts(['a', 'b'], ['x {}', '{} y'])).toEqual(['x a', 'x b', 'a y', 'b y']);
    expect(expandPrompts(['run']).length).toBe(16);
  });

  it('keeps $ patterns in labels literal', () => {
    expect(applyTemplate('do {}', "$& $1 $'")).toBe("do $& $1 $'");
  });

  it('rejects a template without {} and empty labels with ConfigError', () => {
    expect(() => expandPrompts(['a'], ['no placeholder'])).toThrow(ConfigError);
    expect(() => expandPrompts(['a'], ['no placeholder'])).toThrow(/template 0 .*placeholder/);
    expect(() => expandPrompts([], ['{}'])).toThrow(ConfigError);
    expect(() => expandPrompts(['a', '  '], ['{}'])).toThrow(/label 1 is empty/);
    expect(() => expandPrompts(['a'], [])).toThrow(ConfigError);
  });
});

describe.skipIf(!HAVE_FIXTURES)('prompts vs the reference', () => {
  it('templates and the 80 prompts match meta.json', () => {
    const meta = fixtureMeta();
    expect([...ACTIONCLIP_TEMPLATES]).toEqual(meta.templates);
    expect(expandPrompts(meta.labels)).toEqual(meta.prompts);
  });
});
