import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file sits in harness/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The reference fixtures made by the original ActionCLIP code; read in place, never copied. */
export const FIXTURE_DIR = process.env.ACTIONCLIP_FIXTURES ?? path.resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'actionclip-reference');
export const LABELS_DIR = process.env.ACTIONCLIP_LABELS ?? path.resolve(REPO_ROOT, '..', 'shared', 'labels');
