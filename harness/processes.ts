// Shared plumbing for the real servers the integration tests run on loopback:
// where the installer put them, free ports, and child processes stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

export const INSTALL_HINT = 'install the test servers first: bash scripts/setup-test-infra.sh';

/** Same rule as scripts/install-system-deps.sh (run by scripts/setup-test-infra.sh), so tests find what it installed. */
export function cacheDir(): string {
  return process.env.ACTIONCLIP_CACHE ?? join(REPO_ROOT, '.cache');
}

/** Every variable of scripts/infra-versions.env (the installer sources the same file). */
export function infraVersionVars(): { readonly file: string; readonly vars: ReadonlyMap<string, string> } {
  const file = join(REPO_ROOT, 'scripts', 'infra-versions.env');
  const vars = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) vars.set(m[1], m[2].trim().replace(/^["']|["']$/g, ''));
  }
  return { file, vars };
}

/** The Kafka and mediamtx versions pinned in scripts/infra-versions.env. */
export function infraVersions(): { kafka: string; mediamtx: string } {
  const { file, vars } = infraVersionVars();
  const kafka = vars.get('KAFKA_VERSION');
  const mediamtx = vars.get('MEDIAMTX_VERSION');
  if (!kafka || !mediamtx) throw new Error(`${file} must set KAFKA_VERSION and MEDIAMTX_VERSION`);
  return { kafka, mediamtx };
}

/** Asks the kernel for a free loopback port. Racy in theory; fine on a test machine. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolvePort(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** True once something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((done) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    const finish = (ok: boolean): void => {
      sock.destroy();
      done(ok);
    };
    sock.setTimeout(timeoutMs, () => finish(false));
    sock.once('connect', () => finish(true));
    sock.once('error', () => finish(false));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Last lines of a log file, for error messages that are useful without opening it. */
export function tailFile(path: string, lines = 40): string {
  if (!existsSync(path)) return '';
  const all = readFileSync(path, 'utf8').trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

// PIDs of every child still running. Killed when the test process exits so a failed or
// interrupted test never leaves a broker or RTSP server holding ports on the machine.
const livePids = new Set<number>();
let hooksInstalled = false;

function killAllLive(): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  livePids.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllLive);
  // 'exit' does not run when a signal kills us; clean up, then die of the same signal
  // (only when nobody else handles it, so we never change another handler's behaviour).
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllLive();
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited (and has been reaped). */
  readonly exited: Promise<ExitInfo>;
  isRunning(): boolean;
  /**
   * Sends `signal` (default SIGTERM) by PID, then SIGKILL if it is still alive after
   * `graceMs`. Pass 'SIGKILL' to simulate a crash.
   */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<ExitInfo>;
}

/** A server a test starts on loopback: restarted and stopped by PID. */
export interface LoopbackServer {
  /** PID of the current process; changes after restart(). */
  readonly pid: number;
  /** Its stdout/stderr, appended across restarts. */
  readonly logFile: string;
  /** Stop by PID, then start again on the same port(s); resolves when it answers again. */
  restart(opts?: RestartOptions): Promise<void>;
  /** SIGTERM by PID, SIGKILL after the grace period, then remove its temporary directory. */
  stop(): Promise<void>;
}

export interface RestartOptions {
  /** Signal that ends the old process: SIGTERM (default, clean shutdown) or SIGKILL (crash). */
  signal?: NodeJS.Signals;
}

export interface SpawnOptions {
  /** stdout and stderr are appended here; otherwise they are discarded. */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Hand stdout to the caller (child.stdout) instead of the log file. */
  pipeStdout?: boolean;
}

/** Spawns without a shell (argument array) and tracks the PID for exit-time cleanup. */
export async function spawnManaged(
  command: string,
  args: readonly string[],
  opts: SpawnOptions = {},
): Promise<ManagedProcess> {
  installExitHooks();
  const fd = opts.logFile ? openSync(opts.logFile, 'a') : 'ignore';
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      stdio: ['ignore', opts.pipeStdout ? 'pipe' : fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
  } finally {
    // The child holds its own copy of the descriptor.
    if (typeof fd === 'number') closeSync(fd);
  }
  const exited = new Promise<ExitInfo>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
    child.once('error', () => resolveExit({ code: null, signal: null }));
  });
  const pid = child.pid;
  if (pid === undefined) {
    // Spawn failures (ENOENT, EACCES) are reported asynchronously through 'error'.
    const err = await new Promise<Error>((r) => child.once('error', r));
    throw new Error(`cannot start ${command}: ${err.message} (${INSTALL_HINT})`);
  }
  livePids.add(pid);
  void exited.then(() => livePids.delete(pid));

  const isRunning = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> => {
    if (!isRunning()) return exited;
    try {
      process.kill(pid, signal);
    } catch {
      return exited;
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), graceMs);
    });
    const first = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (first === 'timeout') {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited between the timeout and the kill
      }
    }
    return exited;
  };
  return { child, pid, exited, isRunning, stop };
}

/** Polls `probe` until it returns true; fails early if `proc` exits, with its log tail. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; proc?: ManagedProcess; logFile?: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const describeLog = (): string =>
    opts.logFile ? `\nlog: ${opts.logFile}\n--- last lines ---\n${tailFile(opts.logFile)}` : '';
  for (;;) {
    if (opts.proc && !opts.proc.isRunning()) {
      const info = await opts.proc.exited;
      throw new Error(
        `${what}: process ${opts.proc.pid} exited (code ${info.code}, signal ${info.signal})${describeLog()}`,
      );
    }
    if (await probe()) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not ready after ${opts.timeoutMs} ms${describeLog()}`);
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

/** Whether a process with this PID exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
