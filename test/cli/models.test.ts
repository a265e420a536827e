// `actionclip-stream models ...` as a user runs it: the CLI in a child process (from source, so the
// test exercises this checkout's code), against the hub-like server on 127.0.0.1.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelDir } from '../../src/models/model-cache.js';
import { serializeSafetensors } from '../../src/model/weights/safetensors.js';
import { FakeHub, resumedFrom, sha256Of, type HubFile } from '../support/fake-hub.js';
import { REPO_ROOT } from '../support/fixtures.js';
import { tinyClip, tmpDir } from '../model/weights/helpers.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const B32: HubFile = { repo: 'openai/clip-vit-base-patch32', file: 'model.safetensors', body: Buffer.from(serializeSafetensors(tinyClip(3, 2))) };

describe('actionclip-stream models (CLI)', () => {
  const hub = new FakeHub().add(B32);
  const tmp = tmpDir('cli-models');
  const home = path.join(tmp.dir, 'home');
  const dir = modelDir(home, 'vit-b-32', 'main');

  /** Async spawn: the server answers from this process's event loop while the CLI runs. */
  const cli = (...args: string[]): Promise<Run> =>
    new Promise((resolve, reject) => {
      const env: NodeJS.ProcessEnv = { ...process.env, ACTIONCLIP_FROM_SOURCE: '1', ACTIONCLIP_HOME: home, HF_ENDPOINT: hub.base };
      for (const k of ['HF_TOKEN', 'ACTIONCLIP_OFFLINE', 'HF_HUB_OFFLINE']) delete env[k];
      const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'actionclip-stream.js'), 'models', ...args], { env, cwd: REPO_ROOT });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    await hub.start();
  });
  afterAll(async () => {
    await hub.close();
    tmp.cleanup();
  });

  it('pull: an interrupted pull fails and leaves only a .part; the next pull resumes it with Range', async () => {
    const cutAt = Math.floor(B32.body.length / 2);
    hub.cutNextDownload(B32, cutAt);
    const first = await cli('pull', 'vit-b-32', '--retries', '0');
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/actionclip-stream: download (interrupted|incomplete)/);
    expect(readdirSync(dir)).toEqual(['model.safetensors.part']);
    expect((await cli('list')).stdout).toMatch(/^vit-b-32 +main +incomplete /m);

    const kept = statSync(path.join(dir, 'model.safetensors.part')).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(cutAt);
    const second = await cli('pull', 'vit-b-32');
    expect(second.code).toBe(0);
    expect(hub.downloads(B32).map((r) => r.range)).toEqual([undefined, `bytes=${kept}-`]);
    expect(second.stdout).toContain(`vit-b-32 pulled: ${dir}`);
    // Not a terminal: plain progress lines, the last at 100%, resumed from what was kept (the cut, or less when bytes in flight were lost).
    const keptTenths = Math.floor((kept / B32.body.length) * 10) * 10;
    expect(second.stderr).toMatch(new RegExp(`^vit-b-32: ${keptTenths}% .*resuming at`, 'm'));
    expect(second.stderr).toMatch(/^vit-b-32: 100% /m);
    expect(readFileSync(path.join(dir, 'model.safetensors')).equals(B32.body)).toBe(true);
  });

  it('pull: a connection dropped mid-file is retried within the same command, resuming with Range', async () => {
    expect((await cli('rm', 'vit-b-32')).code).toBe(0);
    const cutAt = Math.floor(B32.body.length / 3);
    const seen = hub.downloads(B32).length;
    hub.cutNextDownload(B32, cutAt);
    const r = await cli('pull', 'vit-b-32');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/retry 1 in [\d.]+ s \(resuming\)/);
    const gets = hub.downloads(B32).slice(seen);
    // One full request, then resumes. Under load a resume can itself stall and be resumed again
    // (the retry loop is the point), so only the first resume is tied to the cut.
    expect(gets[0].range).toBeUndefined();
    expect(gets.length).toBeGreaterThanOrEqual(2);
    const starts = gets.slice(1).map((g) => resumedFrom(g.range));
    expect(starts[0]).toBeGreaterThan(0);
    expect(starts[0]).toBeLessThanOrEqual(cutAt);
    for (let i = 1; i < starts.length; i++) expect(starts[i]).toBeGreaterThanOrEqual(starts[i - 1]);
    expect(r.stdout).toContain(`sha256 ${sha256Of(B32.body)}`);
  });

  it('list shows what is cached; rm deletes it', async () => {
    const listed = await cli('list');
    expect(listed.stdout).toMatch(new RegExp(`^vit-b-32 +main +ready .*${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(listed.stdout).toMatch(/^vit-l-14 +main +not pulled /m);
    const rm = await cli('rm', 'vit-b-32');
    expect(rm.stdout.trim()).toBe(`removed ${dir}`);
    expect((await cli('list')).stdout).toMatch(/^vit-b-32 +main +not pulled /m);
    const again = await cli('rm', 'vit-b-32');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no cached model "vit-b-32"');
  });
});
