import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './fixtures.js';

/** The CLI's entry point (run from source with ACTIONCLIP_FROM_SOURCE=1). */
export const BIN = path.join(REPO_ROOT, 'bin', 'actionclip-stream.js');

/**
 * Starts `actionclip-stream run ...args`, waits for its start-up line ("running: ...", at most 90 s
 * or until it exits), then stops it with SIGTERM: its exit code and everything it wrote to stderr.
 */
export async function runUntilStartup(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'run', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 90_000;
  while (!stderr.includes('"msg":"running:') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGTERM');
  return { code: await exited, stderr };
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** stdout and stderr so far. */
  log(): string;
  /** Resolves once the log contains `text`; rejects past `ms` or when the process exits first. */
  waitFor(text: string, ms?: number): Promise<void>;
}

/** Starts `actionclip-stream <args>` (a fleet role, say) as a child process, collecting its log. */
export function startCli(args: string[], env: NodeJS.ProcessEnv): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (text: string, ms = 120_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!log.includes(text)) {
      if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) throw new Error(`timed out waiting for "${text}" in the log of ${args[0]}:\n${log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, exited, log: () => log, waitFor };
}
