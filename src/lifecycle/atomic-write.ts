import { randomUUID } from 'node:crypto';
import { rename, unlink } from 'node:fs/promises';

/**
 * Writes `file` so that a reader sees the old content or the whole new one, never a part: `write`
 * fills a temporary file beside it (same folder, so the rename is atomic), which then replaces
 * `file`. The temporary name is unique per call (two writers of one file never share it), ends in
 * `.tmp`, and is removed when the write fails.
 */
export async function atomicWrite(file: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    await write(tmp);
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
