/**
 * Regenerates config/vocabularies/{kinetics400,ucf101,hmdb51}.json from the shared label lists
 * (`id,name` CSVs as ActionCLIP ships them), read in place:
 *
 *   npx tsx scripts/make-vocabulary-presets.ts [labels-dir]
 *
 * labels-dir defaults to $ACTIONCLIP_LABELS or ../shared/labels beside the repository.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRESET_SOURCES, presetFromCsv } from '../src/training/vocabulary-presets.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const labelsDir = process.argv[2] ?? process.env.ACTIONCLIP_LABELS ?? path.resolve(repo, '..', 'shared', 'labels');
const outDir = path.join(repo, 'config', 'vocabularies');
await mkdir(outDir, { recursive: true });
for (const [name, csv] of Object.entries(PRESET_SOURCES)) {
  const preset = await presetFromCsv(name, path.join(labelsDir, csv));
  const file = path.join(outDir, `${name}.json`);
  await writeFile(file, `${JSON.stringify(preset, null, 2)}\n`);
  console.log(`${file}: ${preset.labels.length} labels`);
}
