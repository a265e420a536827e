import { describe, expect, it } from 'vitest';
import { encodeText, EOT_TOKEN, eotPositions, SOT_TOKEN, tokenize } from '../../src/model/tokenizer.js';
import { readSafetensors } from '../../src/model/weights/safetensors.js';
import { fixture, fixtureMeta, HAVE_FIXTURES } from '../support/fixtures.js';

describe('tokenize', () => {
  it('pads an empty string to [SOT, EOT, 0...]', () => {
    const t = tokenize(['']);
    expect(t.length).toBe(77);
    expect(Array.from(t.slice(0, 3))).toEqual([SOT_TOKEN, EOT_TOKEN, 0]);
    expect(t.slice(2).every((v) => v === 0)).toBe(true);
  });

  it('encodes known CLIP ids', () => {
    // "a photo of a dog" with OpenAI's tokenizer.
    expect(encodeText('a photo of a dog')).toEqual([320, 1125, 539, 320, 1929]);
    // Case and surrounding/duplicate whitespace do not matter.
    expect(encodeText('  A   Photo of a DOG ')).toEqual([320, 1125, 539, 320, 1929]);
  });

  it('truncates long text keeping the end token last', () => {
    const long = Array.from({ length: 100 }, () => 'dog').join(' ');
    const t = tokenize([long, 'cat']);
    expect(t.length).toBe(2 * 77);
    expect(t[0]).toBe(SOT_TOKEN);
    expect(t[76]).toBe(EOT_TOKEN);
    expect(Array.from(t.slice(1, 76)).every((v) => v === 1929)).toBe(true);
    expect(t[77]).toBe(SOT_TOKEN);
    expect(t[79]).toBe(EOT_TOKEN);
    expect(Array.from(eotPositions(t))).toEqual([76, 2]);
    // Exactly 75 words fit: no truncation needed.
    const fits = tokenize([Array.from({ length: 75 }, () => 'dog').join(' ')]);
    expect(fits[76]).toBe(EOT_TOKEN);
    expect(fits[75]).toBe(1929);
  });

  it('supports other context lengths', () => {
    const t = tokenize(['a photo of a dog'], 4);
    expect(Array.from(t)).toEqual([SOT_TOKEN, 320, 1125, EOT_TOKEN]);
    expect(() => tokenize(['x'], 1)).toThrow(/context length/);
  });

  it('byte-encodes non-ASCII text as UTF-8 instead of dropping it', () => {
    const ids = encodeText('café');
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).not.toEqual(encodeText('caf'));
    // HTML entities are unescaped like clip's basic_clean.
    expect(encodeText('rock &amp; roll')).toEqual(encodeText('rock & roll'));
  });
});

describe.skipIf(!HAVE_FIXTURES)('tokenize vs the reference', () => {
  it('gives text_tokens for all 80 prompts of meta.json', async () => {
    const meta = fixtureMeta();
    const cases = (await readSafetensors(fixture('cases.safetensors'))).tensors;
    const expected = cases.get('text_tokens')!;
    expect(expected.shape).toEqual([80, 77]);
    const got = tokenize(meta.prompts);
    expect(meta.prompts.length).toBe(80);
    let mismatched = 0;
    for (let i = 0; i < 80; i++) {
      const a = Array.from(got.subarray(i * 77, (i + 1) * 77));
      const b = Array.from(expected.data.subarray(i * 77, (i + 1) * 77));
      if (a.join() !== b.join()) mismatched++;
    }
    console.log(`[tokenizer] ${80 - mismatched}/80 prompts match the reference ids`);
    expect(Array.from(got)).toEqual(Array.from(expected.data));
  });
});
