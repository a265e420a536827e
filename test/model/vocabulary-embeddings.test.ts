import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodePrompts } from '../../src/model/encode-prompts.js';
import { expandPrompts } from '../../src/model/prompts.js';
import { TextEmbeddingCache } from '../../src/model/text-cache/text-embedding-cache.js';
import { vocabularyEmbeddings } from '../../src/model/vocabulary-embeddings.js';
import { DeterministicEngine } from '../support/deterministic-engine.js';

const TEMPLATES = ['a video of {}', '{} in action', 'a person {}'];
const LABELS = ['running', 'jumping', 'swimming', 'juggling'];
const identity = { weights: 'a'.repeat(64), engine: 'tfjs', backend: 'deterministic-test-double', contextLength: 77 };

/** Bit patterns, so that -0, NaN payloads and last-bit differences all count. */
const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const promptsEncoded = (e: DeterministicEngine): number => e.callsOf('encodeText').reduce((s, c) => s + c.n, 0);

let dir: string;
let warnings: string[];
const open = (over: { maxBytes?: number; weights?: string } = {}): TextEmbeddingCache =>
  new TextEmbeddingCache({ ...identity, weights: over.weights ?? identity.weights }, { dir, maxBytes: over.maxBytes, warn: (m) => warnings.push(m) });

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'text-cache-'));
  warnings = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('vocabularyEmbeddings', () => {
  it('without a cache gives exactly what encodePrompts gives for the expanded prompts', async () => {
    const engine = new DeterministicEngine({ dim: 8 });
    const expected = await encodePrompts(engine, expandPrompts(LABELS, TEMPLATES));
    expect(bits(await vocabularyEmbeddings(engine, LABELS, TEMPLATES))).toEqual(bits(expected));
  });

  it('encodes a vocabulary seen before for zero prompts, bit-identical to the uncached result', async () => {
    const uncached = await vocabularyEmbeddings(new DeterministicEngine({ dim: 8 }), LABELS, TEMPLATES);
    const cold = new DeterministicEngine({ dim: 8 });
    const first = await vocabularyEmbeddings(cold, LABELS, TEMPLATES, { cache: open() });
    expect(promptsEncoded(cold)).toBe(LABELS.length * TEMPLATES.length);
    // A new cache object over the same directory: what a restarted process sees.
    const warm = new DeterministicEngine({ dim: 8 });
    const cache = open();
    const second = await vocabularyEmbeddings(warm, LABELS, TEMPLATES, { cache });
    expect(promptsEncoded(warm)).toBe(0);
    expect(cache.stats).toMatchObject({ hits: LABELS.length, misses: 0, corrupt: 0 });
    expect(bits(first)).toEqual(bits(uncached));
    expect(bits(second)).toEqual(bits(uncached));
  });

  it('encodes only the prompts of a changed label', async () => {
    await vocabularyEmbeddings(new DeterministicEngine({ dim: 8 }), LABELS, TEMPLATES, { cache: open() });
    const changed = ['running', 'jumping', 'diving', 'juggling'];
    const engine = new DeterministicEngine({ dim: 8 });
    const got = await vocabularyEmbeddings(engine, changed, TEMPLATES, { cache: open() });
    expect(promptsEncoded(engine)).toBe(TEMPLATES.length);
    expect(bits(got)).toEqual(bits(await vocabularyEmbeddings(new DeterministicEngine({ dim: 8 }), changed, TEMPLATES)));
  });

  it('treats another template list as another entry', async () => {
    await vocabularyEmbeddings(new DeterministicEngine({ dim: 8 }), LABELS, TEMPLATES, { cache: open() });
    const engine = new DeterministicEngine({ dim: 8 });
    await vocabularyEmbeddings(engine, LABELS, TEMPLATES.slice(1), { cache: open() });
    expect(promptsEncoded(engine)).toBe(LABELS.length * 2);
  });

  it.each([
    ['a flipped payload byte', (b: Buffer) => (b[b.length - 3] ^= 0x40)],
    ['a flipped header byte', (b: Buffer) => (b[40] ^= 0x01)],
    ['a flipped checksum byte', (b: Buffer) => (b[0] ^= 0xff)],
  ])('detects %s on disk, deletes the entry and recomputes it', async (_what, damage) => {
    const uncached = await vocabularyEmbeddings(new DeterministicEngine({ dim: 8 }), LABELS, TEMPLATES);
    const cache = open();
    await vocabularyEmbeddings(new DeterministicEngine({ dim: 8 }), LABELS, TEMPLATES, { cache });
    const file = cache.entryFile('swimming', TEMPLATES);
    const bytes = await readFile(file);
    damage(bytes);
    await writeFile(file, bytes);

    const engine = new DeterministicEngine({ dim: 8 });
    const reopened = open();
    const got = await vocabularyEmbeddings(engine, LABELS, TEMPLATES, { cache: reopened });
    expect(reopened.stats).toMatchObject({ hits: 3, corrupt: 1, misses: 1 });
    expect(warnings.join('\n')).toMatch(/is corrupt .*"swimming"/);
    expect(promptsEncoded(engine)).toBe(TEMPLATES.length);
    expect(bits(got)).toEqual(bits(uncached));
    // Rewritten intact: the next start hits every label.
    const after = open();
    await vocabularyEmbeddings(new DeterministicEngine({ dim: 8 }), LABELS, TEMPLATES, { cache: after });
    expect(after.stats).toMatchObject({ hits: LABELS.length, corrupt: 0 });
  });

  it('refuses a truncated entry (a writer that died without the rename-into-place)', async () => {
    const cache = open();
    await vocabularyEmbeddings(new DeterministicEngine({ dim: 8 }), LABELS, TEMPLATES, { cache });
    const file = cache.entryFile('running', TEMPLATES);
    await writeFile(file, (await readFile(file)).subarray(0, 50));
    const reopened = open();
    expect(await reopened.get('running', TEMPLATES, 8)).toBeUndefined();
    expect(reopened.stats.corrupt).toBe(1);
  });

  it('never serves entries of other weights', async () => {
    await vocabularyEmbeddings(new DeterministicEngine({ dim: 8 }), LABELS, TEMPLATES, { cache: open() });
    const engine = new DeterministicEngine({ dim: 8 });
    const other = open({ weights: 'b'.repeat(64) });
    await vocabularyEmbeddings(engine, LABELS, TEMPLATES, { cache: other });
    expect(promptsEncoded(engine)).toBe(LABELS.length * TEMPLATES.length);
    expect(other.stats).toMatchObject({ hits: 0, misses: LABELS.length });
    expect(other.model).not.toBe(open().model);
  });
});

describe('TextEmbeddingCache eviction', () => {
  it('keeps all entries under maxBytes, dropping the least recently used first', async () => {
    const rows = new Float32Array(TEMPLATES.length * 8).fill(0.5);
    const probe = open();
    await probe.put('probe', TEMPLATES, rows);
    const entrySize = (await readFile(probe.entryFile('probe', TEMPLATES))).length;
    await rm(probe.entryFile('probe', TEMPLATES));

    // Room for three entries of about this size (labels of equal length give equal sizes).
    const cache = open({ maxBytes: 3 * entrySize + 10 });
    const hour = 3_600_000;
    for (const [i, label] of ['aaaaa', 'bbbbb', 'ccccc'].entries()) {
      await cache.put(label, TEMPLATES, rows);
      const then = new Date(Date.now() - (3 - i) * hour); // used 3, 2 and 1 hours ago
      await utimes(cache.entryFile(label, TEMPLATES), then, then);
    }
    expect(await cache.get('aaaaa', TEMPLATES, 8)).toBeDefined(); // a hit makes the oldest the newest
    await cache.put('ddddd', TEMPLATES, rows);
    await cache.evict();

    const present = async (label: string): Promise<boolean> => (await readFile(cache.entryFile(label, TEMPLATES)).catch(() => null)) !== null;
    expect(await present('bbbbb')).toBe(false);
    for (const label of ['aaaaa', 'ccccc', 'ddddd']) expect(await present(label)).toBe(true);
    expect(cache.stats.evicted).toBe(1);
    const files = await readdir(path.join(dir, cache.model));
    expect(files.length * entrySize).toBeLessThanOrEqual(cache.maxBytes);
  });

  it('evicts across models: the bound is for the whole cache', async () => {
    const rows = new Float32Array(TEMPLATES.length * 8).fill(0.25);
    const first = open({ maxBytes: 1 });
    await first.put('old', TEMPLATES, rows);
    const then = new Date(Date.now() - 3_600_000);
    await utimes(first.entryFile('old', TEMPLATES), then, then);
    const second = open({ weights: 'c'.repeat(64), maxBytes: (await readFile(first.entryFile('old', TEMPLATES))).length });
    await second.put('new', TEMPLATES, rows);
    await second.evict();
    expect(await second.get('new', TEMPLATES, 8)).toBeDefined();
    expect(await first.get('old', TEMPLATES, 8)).toBeUndefined();
  });
});
