import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLabelCsv } from '../../src/training/dataset.js';
import { loadVocabularyPreset, PRESET_SOURCES } from '../../src/training/vocabulary-presets.js';
import { HAVE_LABELS, LABELS_DIR, REPO_ROOT } from '../support/fixtures.js';

describe('vocabulary presets', () => {
  it('kinetics400 has 400 labels, ucf101 101, hmdb51 51', () => {
    expect(loadVocabularyPreset('kinetics400').labels).toHaveLength(400);
    expect(loadVocabularyPreset('ucf101').labels).toHaveLength(101);
    expect(loadVocabularyPreset('hmdb51').labels).toHaveLength(51);
    expect(loadVocabularyPreset('Kinetics-400').labels[0]).toBe('abseiling');
  });
  it.skipIf(!HAVE_LABELS)('the committed JSON matches the shared label lists (regenerate with scripts/make-vocabulary-presets.ts)', async () => {
    for (const [name, csv] of Object.entries(PRESET_SOURCES)) {
      const json = JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'vocabularies', `${name}.json`), 'utf8')) as { name: string; labels: string[] };
      expect(json.name).toBe(name);
      expect(json.labels).toEqual(await loadLabelCsv(path.join(LABELS_DIR, csv)));
    }
  });
  it.skipIf(!HAVE_LABELS)('accepts a file path and names unknown presets', () => {
    expect(loadVocabularyPreset(path.join(LABELS_DIR, 'hmdb51_labels.csv')).labels[1]).toBe('cartwheel');
    expect(() => loadVocabularyPreset('imagenet')).toThrow(/neither a file nor a preset \(presets: .*hmdb51.*kinetics400.*ucf101/);
  });
});
