import { open, rm, stat, utimes } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockOptions {
  /** A lock not touched for this long belongs to a process that died: taken over. Default 30 s. */
  readonly staleMs?: number;
  /** How often a waiting process looks again. Default 500 ms. */
  readonly pollMs?: number;
  /** Told once when the lock is held by someone else (a log line). */
  readonly onWait?: () => void;
  readonly signal?: AbortSignal;
}

/**
 * Runs `fn` holding `lockPath`, so that one process at a time writes a download's `.part` (two
 * workers starting on the same model would interleave their bytes). The lock file is created
 * exclusively and touched while held; one left behind by a killed process goes stale and is taken
 * over, so a Ctrl-C never blocks the next pull for long.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const staleMs = opts.staleMs ?? 30_000;
  let told = false;
  while (!(await tryCreate(lockPath))) {
    const st = await stat(lockPath).catch(() => null);
    if (st !== null && Date.now() - st.mtimeMs > staleMs) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (!told) opts.onWait?.();
    told = true;
    await sleep(opts.pollMs ?? 500, undefined, { signal: opts.signal });
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    void utimes(lockPath, now, now).catch(() => undefined);
  }, staleMs / 4);
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    await rm(lockPath, { force: true });
  }
}

async function tryCreate(lockPath: string): Promise<boolean> {
  try {
    const fh = await open(lockPath, 'wx');
    await fh.writeFile(`${process.pid}@${os.hostname()}\n`);
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}
