// The CLI as a user runs it: a real child process (node bin/actionclip-stream.js, from source),
// its exit code and what it prints.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEAD_NAMES } from '../../src/model/heads.js';
import { writeSafetensors } from '../../src/model/weights/safetensors.js';
import { syntheticClipWeights } from '../../src/model/weights/synthetic-weights.js';
import { BIN, runUntilStartup } from '../support/cli.js';
import { REPO_ROOT } from '../support/fixtures.js';

const ENV = { ...process.env, ACTIONCLIP_FROM_SOURCE: '1', ACTIONCLIP_LOG_FORMAT: '' };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: ENV, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

describe('actionclip-stream CLI messages', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('--window 7 names the allowed 8, 16 and 32', async () => {
    const r = await cli(['run', '--weights', 'w.safetensors', '--labels', 'a,b', '--window', '7']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('window: frames per window must be 8, 16 or 32');
    expect(r.stderr).toContain('got 7');
    expect(r.stderr).not.toContain('Invalid input');
  });

  it('a missing --weights says so', async () => {
    const r = await cli(['run', '--labels', 'a,b']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('weights: no CLIP weights given: pass --weights FILE');
    expect(r.stderr).not.toMatch(/expected string|received undefined/);
  });

  it('--head help lists every head and Joint and Shift', async () => {
    for (const cmd of ['run', 'classify']) {
      const help = (await cli([cmd, '--help'])).stdout.replace(/\s+/g, ' ');
      const head = help.slice(help.indexOf('--head'), help.indexOf('--head') + 400);
      for (const name of [...HEAD_NAMES, 'Joint', 'Shift']) expect(head, `${cmd} --help`).toContain(name);
    }
  });

  it('run --head Joint says why live windows cannot use it', async () => {
    const r = await cli(['run', '--weights', 'w.safetensors', '--labels', 'a', '--head', 'Joint']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--head Joint: Joint and Shift mix a window');
  });
});

describe('actionclip-stream run start-up', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'actionclip-cli-'));
    const tiny = { name: 'tiny-random', patch: 16, resolution: 32, visionWidth: 64, visionLayers: 1, embedDim: 32, textWidth: 64, textLayers: 1 };
    await writeSafetensors(path.join(dir, 'tiny.safetensors'), syntheticClipWeights(tiny));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('logs JSON (not a terminal) with one line naming engine, backend, model, cameras and URL, credentials redacted', async () => {
    // Nothing listens on port 1: the camera only retries; its URL carries credentials to hide.
    const args = ['--weights', path.join(dir, 'tiny.safetensors'), '--labels', 'a,b', '--engine', 'onnx', '--port', '0', '--host', '127.0.0.1', '--camera', 'door=rtsp://admin:hunter2@127.0.0.1:1/stream'];
    const { code, stderr } = await runUntilStartup(args, ENV);
    expect(code).toBe(0);

    const lines = stderr.split('\n').filter((l) => l.trim() !== '');
    const records = lines.map((l) => JSON.parse(l) as { msg: string });
    const startup = records.filter((r) => r.msg.startsWith('running:'));
    expect(startup).toHaveLength(1);
    expect(startup[0]!.msg).toMatch(/^running: engine onnx, backend cpu, model tiny\.safetensors \(head meanP, T=8\); 1 camera \(door=rtsp:\/\/\*\*\*@127\.0\.0\.1:1\/stream\); dashboard http:\/\/127\.0\.0\.1:\d+\/, API http:\/\/127\.0\.0\.1:\d+, detections on ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    expect(stderr).not.toContain('hunter2');
  }, 120_000);
});
