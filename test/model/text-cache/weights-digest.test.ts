import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weightsDigest } from '../../../src/model/text-cache/weights-digest.js';

let dir: string;
const memo = () => path.join(dir, 'memo.json');
const at = (name: string) => path.join(dir, name);
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'weights-digest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('weightsDigest', () => {
  it('is a hash of the contents: equal bytes at two paths agree, other bytes differ', async () => {
    await writeFile(at('a.bin'), 'weights A');
    await copyFile(at('a.bin'), at('a-copy.bin'));
    await writeFile(at('b.bin'), 'weights B');
    const a = await weightsDigest([at('a.bin')], memo());
    expect(a).toBe(sha(sha('weights A')));
    expect(await weightsDigest([at('a-copy.bin')], memo())).toBe(a);
    expect(await weightsDigest([at('b.bin')], memo())).not.toBe(a);
    expect(await weightsDigest([at('a.bin'), at('b.bin')], memo())).not.toBe(await weightsDigest([at('b.bin'), at('a.bin')], memo()));
  });

  it('hashes a file again when its size or mtime changed', async () => {
    await writeFile(at('c.bin'), 'first');
    const before = await weightsDigest([at('c.bin')], memo());
    await writeFile(at('c.bin'), 'second, longer');
    expect(await weightsDigest([at('c.bin')], memo())).toBe(sha(sha('second, longer')));
    expect(before).toBe(sha(sha('first')));
  });

  it('answers from the memo while path, size and mtime are unchanged (the file is not read)', async () => {
    const mtime = 1_700_000_000; // whole seconds, so that putting it back restores it exactly
    await writeFile(at('d.bin'), 'original');
    await utimes(at('d.bin'), mtime, mtime);
    const first = await weightsDigest([at('d.bin')], memo());
    // Same size, mtime put back: the memo cannot tell, which shows the memo answered.
    await writeFile(at('d.bin'), 'ORIGINAL');
    await utimes(at('d.bin'), mtime, mtime);
    expect((await stat(at('d.bin'))).mtimeMs).toBe(mtime * 1000);
    expect(await weightsDigest([at('d.bin')], memo())).toBe(first);
    expect(JSON.parse(await readFile(memo(), 'utf8'))).toHaveProperty([at('d.bin'), 'sha256'], sha('original'));
  });

  it('ignores a damaged memo and hashes again', async () => {
    await writeFile(at('e.bin'), 'contents');
    await writeFile(memo(), '{"not": "a memo"');
    expect(await weightsDigest([at('e.bin')], memo())).toBe(sha(sha('contents')));
  });
});
