// One `actionclip-stream <role>` child process (the CLI from source), with its log kept for the
// test to wait on and print when something goes wrong. Stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

const BIN = path.join(REPO_ROOT, 'bin', 'actionclip-stream.js');
const ENV = { ...process.env, ACTIONCLIP_FROM_SOURCE: '1', ACTIONCLIP_LOG_FORMAT: '' };

export interface RoleProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  log(): string;
  /** Resolves once the log (from `from`, a length of log() taken earlier) contains `text`. */
  waitFor(text: string | RegExp, opts?: { ms?: number; from?: number }): Promise<void>;
  /** The API URL a role with an HTTP server printed (`API http://127.0.0.1:PORT`). */
  url(): string;
  /** SIGKILL: the crash a test makes. */
  kill9(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function startRole(name: string, argv: readonly string[]): RoleProcess {
  const child = spawn(process.execPath, [BIN, ...argv], { cwd: REPO_ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const has = (text: string | RegExp, from: number): boolean => (typeof text === 'string' ? log.indexOf(text, from) >= 0 : text.test(log.slice(from)));
  const ended = async (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    name,
    child,
    exited,
    log: () => log,
    waitFor: (text, o = {}) =>
      pollUntil(() => `"${String(text)}" in ${name}'s log\n${log.slice(-3000)}`, () => has(text, o.from ?? 0), o.ms ?? 120_000, () => child.exitCode !== null),
    url: () => {
      const m = /API (https?:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m === null) throw new Error(`${name} printed no API URL:\n${log.slice(-2000)}`);
      return m[1]!;
    },
    kill9: () => ended('SIGKILL', 0),
    stop: (graceMs = 20_000) => ended('SIGTERM', graceMs),
  };
}

export async function pollUntil(what: string | (() => string), cond: () => boolean | Promise<boolean>, ms = 90_000, abort: () => boolean = () => false): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end || abort()) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
