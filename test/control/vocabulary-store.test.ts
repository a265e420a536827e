import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { MAX_LABELS } from '../../config/schema.js';
import { validateVocabulary, VocabularyStore, vocabularyFromEmbeddings } from '../../src/control/vocabulary-store.js';
import { ACTIONCLIP_TEMPLATES, expandPrompts } from '../../src/model/prompts.js';
import { TextEmbeddingCache } from '../../src/model/text-cache/text-embedding-cache.js';
import { tokenize } from '../../src/model/tokenizer.js';
import type { Vocabulary } from '../../src/types.js';
import { DeterministicEngine } from '../support/deterministic-engine.js';
import { Instrumentation } from '../../src/instrumentation/instrumentation.js';

function rowNorms(v: Vocabulary): number[] {
  const out: number[] = [];
  for (let r = 0; r < v.textEmbeddings.length / v.dim; r++) {
    let ss = 0;
    for (let d = 0; d < v.dim; d++) ss += v.textEmbeddings[r * v.dim + d] ** 2;
    out.push(Math.sqrt(ss));
  }
  return out;
}

describe('validateVocabulary', () => {
  it('trims labels and defaults to the ActionCLIP templates', () => {
    expect(validateVocabulary({ labels: [' running ', 'jumping'] })).toEqual({ labels: ['running', 'jumping'], templates: [...ACTIONCLIP_TEMPLATES] });
  });

  it.each([
    [{ labels: [] }, /at least one label/],
    [{ labels: ['a', '  '] }, /labels\.1: label is empty/],
    [{ labels: ['run', ' run'] }, /labels\.1: duplicate label "run"/],
    [{ labels: ['run'], templates: ['a video of'] }, /templates\.0: .*placeholder/],
    [{ labels: ['run'], templates: [] }, /at least one template/],
    [{ labels: Array.from({ length: MAX_LABELS + 1 }, (_, i) => `l${i}`) }, /at most 1000 labels/],
    [{ labels: 'run' }, /labels/],
  ])('rejects %j', (input, message) => {
    expect(() => validateVocabulary(input)).toThrow(ConfigError);
    expect(() => validateVocabulary(input)).toThrow(message);
  });
});

describe('VocabularyStore', () => {
  it('encodes every prompt once per version (template-major), rows L2-normalised', async () => {
    const engine = new DeterministicEngine({ dim: 4 });
    const store = await VocabularyStore.create(engine, { labels: ['run', 'jump'], templates: ['a {}', '{} now', 'the {}'] }, { now: () => 42 });
    const v = store.current;
    expect(v).toMatchObject({ version: 1, labels: ['run', 'jump'], templates: ['a {}', '{} now', 'the {}'], dim: 4, createdAt: 42 });
    expect(engine.callsOf('encodeText').map((c) => c.n)).toEqual([6]);
    for (const n of rowNorms(v)) expect(n).toBeCloseTo(1, 6);
    // Row i is the embedding of prompt i of expandPrompts (template-major).
    const prompts = expandPrompts(['run', 'jump'], ['a {}', '{} now', 'the {}']);
    expect(prompts[1]).toBe('a jump');
    const single = await new DeterministicEngine({ dim: 4 }).encodeText(tokenize([prompts[1]]), 1);
    const norm = Math.hypot(...single);
    expect(Array.from(v.textEmbeddings.subarray(4, 8)).map((x) => x.toFixed(5))).toEqual(Array.from(single, (x) => (x / norm).toFixed(5)));
  });

  it('takes versions numbered elsewhere (a fleet follows its vocabulary topic): the first and each update', async () => {
    const store = await VocabularyStore.create(new DeterministicEngine({ dim: 4 }), { labels: ['run'] }, { initialVersion: 7 });
    expect(store.current.version).toBe(7);
    expect((await store.update({ labels: ['jump'] }, 12)).version).toBe(12);
    expect((await store.update({ labels: ['swim'] })).version).toBe(13);
    expect(store.history().map((v) => v.version)).toEqual([7, 12, 13]);
  });

  it('encodes big vocabularies in chunks of textBatch prompts', async () => {
    const engine = new DeterministicEngine({ dim: 4 });
    await VocabularyStore.create(engine, { labels: ['a', 'b', 'c'] }, { textBatch: 20 });
    expect(engine.callsOf('encodeText').map((c) => c.n)).toEqual([20, 20, 8]);
  });

  it('swaps atomically: version +1 per update, vocabulary$ replays the current one', async () => {
    const engine = new DeterministicEngine({ dim: 4 });
    const store = await VocabularyStore.create(engine, { labels: ['run'] });
    const seen: number[] = [];
    const sub = store.vocabulary$.subscribe((v) => seen.push(v.version));
    const v2 = await store.update({ labels: ['run', 'jump'] });
    expect(v2.version).toBe(2);
    expect(v2.templates).toEqual(ACTIONCLIP_TEMPLATES);
    const v3 = await store.update({ labels: ['swim'], templates: ['{}'] });
    // Templates omitted keep the current ones.
    const v4 = await store.update({ labels: ['dive'] });
    expect(v4.templates).toEqual(['{}']);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(v3.textEmbeddings).toHaveLength(4);
    sub.unsubscribe();
  });

  it('keeps the previous version when an update fails validation or encoding', async () => {
    const engine = new DeterministicEngine({ dim: 4 });
    const store = await VocabularyStore.create(engine, { labels: ['run'] });
    const before = store.current;
    const seen: number[] = [];
    store.vocabulary$.subscribe((v) => seen.push(v.version));

    await expect(store.update({ labels: ['a', 'a'] })).rejects.toThrow(ConfigError);
    expect(engine.callsOf('encodeText')).toHaveLength(1); // nothing encoded for an invalid request

    engine.failNext = new Error('engine lost');
    await expect(store.update({ labels: ['jump'] })).rejects.toThrow('engine lost');
    expect(store.current).toBe(before);

    const next = await store.update({ labels: ['jump'] });
    expect(next.version).toBe(2); // failures consume no version
    expect(seen).toEqual([1, 2]);
  });

  it('serialises concurrent updates in call order', async () => {
    const engine = new DeterministicEngine({ dim: 4 });
    const store = await VocabularyStore.create(engine, { labels: ['a'] });
    const results = await Promise.allSettled([
      store.update({ labels: ['b'] }),
      store.update({ labels: ['c', 'c'] }),
      store.update({ labels: ['d'] }),
    ]);
    expect(engine.maxInFlight).toBe(1);
    expect(results.map((r) => (r.status === 'fulfilled' ? `${r.value.version}:${r.value.labels.join()}` : 'rejected'))).toEqual(['2:b', 'rejected', '3:d']);
    expect(store.current.labels).toEqual(['d']);
  });

  it('under a storm keeps at most one update waiting: the last one wins, the replaced ones get its version', async () => {
    const engine = new DeterministicEngine({ dim: 4 });
    const inst = new Instrumentation();
    let superseded = 0;
    let maxPending = 0;
    inst.on('vocabulary.superseded', (e) => (superseded += e.count));
    inst.on('vocabulary.pending', (e) => (maxPending = Math.max(maxPending, e.pending)));
    const store = await VocabularyStore.create(engine, { labels: ['a'] }, { instrumentation: inst });
    const seen: number[] = [];
    store.vocabulary$.subscribe((v) => seen.push(v.version));
    const texts = engine.callsOf('encodeText').length;
    // 50 at once, as a burst within one second: the first runs, 49 replace one another.
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.update({ labels: [`l${i}`] })));
    expect(store.current.labels).toEqual(['l49']);
    expect(seen).toEqual([1, 2, 3]);
    expect(results[0]!.labels).toEqual(['l0']);
    expect(results.slice(1).every((v) => v.version === 3)).toBe(true);
    expect(engine.callsOf('encodeText').length - texts).toBe(2);
    expect(superseded).toBe(48);
    expect(maxPending).toBe(1);
    // An invalid request in a storm fails alone and replaces nothing.
    const [good, bad] = await Promise.allSettled([store.update({ labels: ['x'] }), store.update({ labels: ['y', 'y'] })]);
    expect(good.status).toBe('fulfilled');
    expect(bad.status).toBe('rejected');
    expect(store.current.labels).toEqual(['x']);
  });

  it('rejects the first vocabulary when it is invalid, and updates after dispose', async () => {
    const engine = new DeterministicEngine({ dim: 4 });
    await expect(VocabularyStore.create(engine, { labels: [] })).rejects.toThrow(ConfigError);
    const store = await VocabularyStore.create(engine, { labels: ['a'] });
    let completed = false;
    store.vocabulary$.subscribe({ complete: () => (completed = true) });
    store.dispose();
    expect(completed).toBe(true);
    await expect(store.update({ labels: ['b'] })).rejects.toThrow(/disposed/);
  });

  it('vocabularyFromEmbeddings validates, copies and normalises', () => {
    const raw = new Float32Array([3, 4, 0, 2]);
    const v = vocabularyFromEmbeddings({ version: 7, labels: ['x', 'y'], templates: ['{}'], textEmbeddings: raw, createdAt: 1 });
    expect(Array.from(v.textEmbeddings)).toEqual([0.6, 0.8, 0, 1].map((x) => Math.fround(x)));
    expect(raw[0]).toBe(3);
    expect(() => vocabularyFromEmbeddings({ version: 1, labels: ['x', 'y'], templates: ['{}'], textEmbeddings: new Float32Array(3) })).toThrow(ConfigError);
  });

  it("starts with the model's templates when the first vocabulary names none", async () => {
    const trained = ['a clip of {}', '{}'];
    const store = await VocabularyStore.create(new DeterministicEngine({ dim: 4 }), { labels: ['run'] }, { templates: trained });
    expect(store.current.templates).toEqual(trained);
    const asked = await VocabularyStore.create(new DeterministicEngine({ dim: 4 }), { labels: ['run'], templates: ['{} now'] }, { templates: trained });
    expect(asked.current.templates).toEqual(['{} now']);
    // Updates without templates keep the current ones.
    expect((await store.update({ labels: ['jump'] })).templates).toEqual(trained);
  });

  it('encodes through the text cache: a restart and an update with known labels encode only new prompts', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vocab-text-cache-'));
    try {
      const cache = () => new TextEmbeddingCache({ weights: 'w', engine: 'tfjs', backend: 'deterministic-test-double', contextLength: 77 }, { dir });
      const templates = ['a {}', '{} now'];
      const uncached = await VocabularyStore.create(new DeterministicEngine({ dim: 4 }), { labels: ['run', 'jump'], templates });
      await VocabularyStore.create(new DeterministicEngine({ dim: 4 }), { labels: ['run', 'jump'], templates }, { textCache: cache() });
      const engine = new DeterministicEngine({ dim: 4 });
      const store = await VocabularyStore.create(engine, { labels: ['run', 'jump'], templates }, { textCache: cache() });
      expect(engine.callsOf('encodeText')).toEqual([]);
      expect(Array.from(store.current.textEmbeddings)).toEqual(Array.from(uncached.current.textEmbeddings));
      await store.update({ labels: ['jump', 'swim'] });
      expect(engine.callsOf('encodeText').map((c) => c.n)).toEqual([2]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('VocabularyStore drafts and history', () => {
  it('a draft is encoded like an update, scores like one, and changes nothing', async () => {
    const engine = new DeterministicEngine();
    const store = await VocabularyStore.create(engine, { labels: ['run', 'jump'], templates: ['a {}'] });
    const seen: number[] = [];
    const sub = store.vocabulary$.subscribe((v) => seen.push(v.version));
    const draft = await store.draft({ labels: ['run', 'jump', 'wave'] });
    expect(draft).toMatchObject({ version: 0, labels: ['run', 'jump', 'wave'], templates: ['a {}'] });
    const applied = await store.update({ labels: ['run', 'jump', 'wave'] });
    expect(Array.from(draft.textEmbeddings)).toEqual(Array.from(applied.textEmbeddings));
    expect(seen).toEqual([1, 2]);
    await expect(store.draft({ labels: ['x'], templates: ['no placeholder'] })).rejects.toThrow(/templates\.0/);
    expect(store.current.version).toBe(2);
    sub.unsubscribe();
  });

  it('keeps the last 20 versions, names only, oldest first', async () => {
    const store = await VocabularyStore.create(new DeterministicEngine(), { labels: ['a'] }, { now: () => 7 });
    for (let i = 0; i < 22; i++) await store.update({ labels: [`l${i}`] });
    const history = store.history();
    expect(history.map((v) => v.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 4));
    expect(history.at(-1)).toEqual({ version: 23, labels: ['l21'], templates: [...ACTIONCLIP_TEMPLATES], createdAt: 7 });
    expect(history[0]).not.toHaveProperty('textEmbeddings');
    await expect(store.update({ labels: [] })).rejects.toThrow();
    expect(store.history().at(-1)!.version).toBe(23);
  });
});
