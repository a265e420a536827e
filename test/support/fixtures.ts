import { existsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURE_DIR, LABELS_DIR } from '../../harness/paths.js';

export { FIXTURE_DIR, LABELS_DIR, REPO_ROOT } from '../../harness/paths.js';

export const HAVE_FIXTURES = existsSync(path.join(FIXTURE_DIR, 'meta.json'));
if (!HAVE_FIXTURES) {
  // Said out loud so that a skipped suite is never mistaken for a passing one.
  console.warn(`[fixtures] ${FIXTURE_DIR} is absent: reference-fixture tests are SKIPPED`);
}

export const HAVE_LABELS = existsSync(LABELS_DIR);
if (!HAVE_LABELS) console.warn(`[fixtures] ${LABELS_DIR} is absent: tests against the shared label lists are SKIPPED`);

export function fixture(name: string): string {
  return path.join(FIXTURE_DIR, name);
}

export interface FixtureMeta {
  config: Record<string, number>;
  frames: number;
  batch: number;
  labels: string[];
  templates: string[];
  prompts: string[];
  fusion_heads: string[];
  train: { fusion: string; labels: number[]; template_ids: number[] };
  logit_scale: number;
}

export function fixtureMeta(): FixtureMeta {
  return JSON.parse(readFileSync(fixture('meta.json'), 'utf8')) as FixtureMeta;
}

/** max |a-b| / max |b|: the relative measure the tolerances are stated in. */
export function maxAbsErrorRelative(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != expected ${expected.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return err / (scale || 1);
}

export function maxAbsError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != expected ${expected.length}`);
  let err = 0;
  for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(actual[i] - expected[i]));
  return err;
}
