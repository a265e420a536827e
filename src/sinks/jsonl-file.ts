/**
 * The file side of the JSONL sink: repairing a torn last line on start, and naming and pruning
 * rotated files. Plain synchronous fs calls: each runs once per start or rotation, not per line.
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readdirSync, readSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

const CHUNK = 64 * 1024;

/**
 * Truncates `file` after its last newline when it does not end with one (a crash or a full disk
 * cut the last line): readers of JSON lines then never see half a record. Returns the bytes removed.
 */
export function repairTornLine(file: string, logger?: Logger): number {
  let fd: number;
  try {
    fd = openSync(file, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    const keep = lastNewlineEnd(fd, size);
    if (keep === size) return 0;
    ftruncateSync(fd, keep);
    logger?.warn({ path: file, removedBytes: size - keep }, 'jsonl sink: removed a torn last line (left by a crash or a full disk)');
    return size - keep;
  } finally {
    closeSync(fd);
  }
}

/** The length of the file up to and including its last newline (0 when it has none). */
function lastNewlineEnd(fd: number, size: number): number {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let end = size; end > 0; end -= CHUNK) {
    const start = Math.max(0, end - CHUNK);
    const n = readSync(fd, buf, 0, end - start, start);
    const at = buf.subarray(0, n).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
  }
  return 0;
}

/** `<file>.<UTC time>` (sortable, no colons), unique even for two rotations in one millisecond. */
export function rotatedName(file: string, now: number): string {
  const base = `${file}.${new Date(now).toISOString().replace(/:/g, '-')}`;
  let name = base;
  for (let i = 1; existsSync(name); i++) name = `${base}.${i}`;
  return name;
}

/** Deletes the oldest rotated files of `file` beyond `keep`. */
export function pruneRotated(file: string, keep: number, logger?: Logger): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  // ISO times sort as strings; a ".n" suffix sorts after its base.
  // Only names rotatedName made: another file that merely starts alike is not ours to delete.
  const rotated = readdirSync(dir).filter((n) => n.startsWith(prefix) && /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z(\.\d+)?$/.test(n.slice(prefix.length))).sort();
  for (const name of rotated.slice(0, Math.max(0, rotated.length - keep))) {
    try {
      unlinkSync(path.join(dir, name));
    } catch (err) {
      logger?.warn({ err, path: name }, 'jsonl sink: could not delete an old rotated file');
    }
  }
}
