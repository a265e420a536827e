import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * This package's version from its package.json: two folders up from src/cli in a checkout, three
 * from dist/src/cli once built, so the nearest package.json named actionclip-stream is taken.
 */
export function packageVersion(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'actionclip-stream' && pkg.version !== undefined) return pkg.version;
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}
