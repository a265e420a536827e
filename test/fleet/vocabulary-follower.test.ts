import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { VocabularyStore } from '../../src/control/vocabulary-store.js';
import { VOCABULARY_KEY, type VocabularyRecord } from '../../src/fleet/records.js';
import { followVocabulary, parseVocabularyRecord } from '../../src/fleet/vocabulary-follower.js';
import { DeterministicEngine } from '../support/deterministic-engine.js';

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe('parseVocabularyRecord', () => {
  it('takes a valid record', () => {
    expect(parseVocabularyRecord(VOCABULARY_KEY, json({ version: 2, labels: ['run'], writtenAt: 5 }))).toEqual({ version: 2, labels: ['run'], writtenAt: 5 });
  });

  it.each([
    ['other', json({ version: 2, labels: ['run'], writtenAt: 5 }), /key "other" is not "vocabulary"/],
    [VOCABULARY_KEY, null, /tombstone/],
    [VOCABULARY_KEY, Buffer.from('{'), /not JSON/],
    [VOCABULARY_KEY, json({ version: 0, labels: ['run'], writtenAt: 5 }), /version/],
    [VOCABULARY_KEY, json({ version: 2, labels: [], writtenAt: 5 }), /labels/],
    [VOCABULARY_KEY, json({ version: 2, labels: ['run'], writtenAt: 5, extra: 1 }), /extra/],
  ])('says what is wrong with key %s, value %s', (key, value, message) => {
    const r = parseVocabularyRecord(key, value);
    expect(typeof r).toBe('string');
    expect(r).toMatch(message);
  });
});

describe('followVocabulary', () => {
  it('encodes each newer record under its own version; no templates means the defaults, whatever came before', async () => {
    const store = await VocabularyStore.create(new DeterministicEngine({ dim: 4 }), { labels: ['walk'] }, { initialVersion: 0 });
    const latest$ = new Subject<VocabularyRecord>();
    const sub = followVocabulary(store, { latest$ }, ['a video of {}'], undefined);
    latest$.next({ version: 2, labels: ['run', 'jump'], templates: ['{} now'], writtenAt: 1 });
    await new Promise((r) => setTimeout(r, 50));
    expect(store.current).toMatchObject({ version: 2, labels: ['run', 'jump'], templates: ['{} now'] });
    latest$.next({ version: 1, labels: ['old'], writtenAt: 1 }); // not newer: ignored
    latest$.next({ version: 5, labels: ['swim'], writtenAt: 1 });
    await new Promise((r) => setTimeout(r, 50));
    expect(store.current).toMatchObject({ version: 5, labels: ['swim'], templates: ['a video of {}'] });
    expect(store.history().map((v) => v.version)).toEqual([0, 2, 5]);
    sub.unsubscribe();
  });
});
