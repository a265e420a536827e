/**
 * A content hash of the weights files, so cached text embeddings follow the weights' bytes and not
 * their names. Hashing reads every byte (about a second per GB), so each file's hash is remembered
 * in `memoFile` by (path, size, mtime) and read again only when one of those changes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { atomicWrite } from '../../lifecycle/atomic-write.js';

const MemoSchema = z.record(z.string(), z.strictObject({ size: z.number(), mtimeMs: z.number(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }));
type Memo = z.infer<typeof MemoSchema>;
/** Files remembered; the oldest entries are dropped beyond it. */
const MEMO_LIMIT = 64;

async function readMemo(file: string): Promise<Memo> {
  try {
    return MemoSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch {
    return {}; // absent or damaged: hash again, nothing is trusted from it
  }
}

function sha256OfFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => h.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** SHA-256 over the files' own SHA-256s, in the order given. */
export async function weightsDigest(files: readonly string[], memoFile: string): Promise<string> {
  const memo = await readMemo(memoFile);
  let changed = false;
  const sums: string[] = [];
  for (const f of files) {
    const abs = path.resolve(f);
    const st = await stat(abs);
    const known = memo[abs];
    if (known !== undefined && known.size === st.size && known.mtimeMs === st.mtimeMs) {
      sums.push(known.sha256);
      continue;
    }
    const sha256 = await sha256OfFile(abs);
    delete memo[abs]; // re-inserted last: insertion order is the age order MEMO_LIMIT trims by
    memo[abs] = { size: st.size, mtimeMs: st.mtimeMs, sha256 };
    sums.push(sha256);
    changed = true;
  }
  if (changed) await writeMemo(memoFile, memo);
  return createHash('sha256').update(sums.join('\n')).digest('hex');
}

async function writeMemo(file: string, memo: Memo): Promise<void> {
  const keys = Object.keys(memo);
  for (const k of keys.slice(0, Math.max(0, keys.length - MEMO_LIMIT))) delete memo[k];
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await atomicWrite(file, (tmp) => writeFile(tmp, JSON.stringify(memo)));
  } catch {
    // Only a memo: the next load hashes again.
  }
}
