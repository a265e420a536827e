/**
 * Stable names for the newest demo files, so configurations (config/example.yaml, the images)
 * can point at them: `model` → `model-<key>/`, `cam1.mp4` … → `cameras-<key>/cam1.mp4` …. Relative
 * symbolic links, each replaced atomically (made beside, then renamed over the old one).
 */
import { rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';

async function link(cacheDir: string, name: string, target: string): Promise<void> {
  const at = path.join(cacheDir, name);
  const tmp = `${at}.${process.pid}.link`;
  await rm(tmp, { force: true });
  await symlink(path.relative(cacheDir, target), tmp);
  await rename(tmp, at);
}

export async function linkCurrentDemo(cacheDir: string, modelDir: string, cameraFiles: readonly string[]): Promise<void> {
  const dir = path.resolve(cacheDir);
  await link(dir, 'model', modelDir);
  for (const file of cameraFiles) await link(dir, path.basename(file), file);
}
