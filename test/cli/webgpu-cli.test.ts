// `--engine webgpu` through the CLI as a user runs it (a child process, from source), on the
// reference model: classify agrees with the ONNX engine, eval and run work on it. On lavapipe in CI.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpeg } from '../../src/sources/ffmpeg-path.js';
import { BIN, runUntilStartup } from '../support/cli.js';
import { webgpuSkipReason } from '../support/engines.js';
import { FIXTURE_DIR, HAVE_FIXTURES, REPO_ROOT, fixture, fixtureMeta } from '../support/fixtures.js';

const ENV = { ...process.env, ACTIONCLIP_FROM_SOURCE: '1', ACTIONCLIP_LOG_FORMAT: 'json', ACTIONCLIP_WEBGPU_ALLOW_SOFTWARE: '1' };
const skip = webgpuSkipReason();
if (skip !== null) console.warn(`[webgpu-cli] ${skip}`);

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: ENV, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

interface Ranking {
  label: string;
  score: number;
}

describe.skipIf(!HAVE_FIXTURES || skip !== null)('CLI on the webgpu engine', () => {
  let dir: string;
  const clips: string[] = [];
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'actionclip-webgpu-cli-'));
    for (const [i, src] of ['testsrc=duration=1:size=64x48:rate=16', 'mandelbrot=size=64x48:rate=16'].entries()) {
      const clip = path.join(dir, `clip${i}.mp4`);
      execFileSync(resolveFfmpeg().path, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', src, '-t', '1', '-pix_fmt', 'yuv420p', clip]);
      clips.push(clip);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('classify --engine webgpu gives the ONNX engine probabilities (Transf head)', async () => {
    const labels = fixtureMeta().labels.join(',');
    const args = (engine: string): string[] => ['classify', ...clips, '--weights', FIXTURE_DIR, '--fusion', fixture('fusion-Transf.safetensors'), '--labels', labels, '--engine', engine, '--json', '--no-text-cache'];
    const [gpu, onnx] = [await cli(args('webgpu')), await cli(args('onnx'))];
    expect(gpu.stderr).not.toMatch(/"level":"?(error|50)/);
    expect(gpu.code).toBe(0);
    expect(onnx.code).toBe(0);
    const a = JSON.parse(gpu.stdout) as { engine: string; backend: string; results: { ranking: Ranking[] }[] };
    const b = JSON.parse(onnx.stdout) as typeof a;
    expect(a.engine).toBe('webgpu');
    expect(a.backend).toMatch(/^webgpu \(/);
    expect(a.results).toHaveLength(2);
    for (const [i, r] of a.results.entries()) {
      const other = new Map(b.results[i].ranking.map((x) => [x.label, x.score]));
      for (const { label, score } of r.ranking) expect(Math.abs(score - other.get(label)!)).toBeLessThanOrEqual(1e-4);
    }
  });

  it('eval --engine webgpu scores a labelled list', async () => {
    const list = path.join(dir, 'list.txt');
    const labels = path.join(dir, 'labels.csv');
    writeFileSync(list, clips.map((c, i) => `${c} ${i}`).join('\n'));
    writeFileSync(labels, ['id,name', ...fixtureMeta().labels.map((l, i) => `${i},${l}`)].join('\n'));
    const r = await cli(['eval', '--weights', FIXTURE_DIR, '--zero-shot', '--list', list, '--labels', labels, '--engine', 'webgpu', '--json', '--no-text-cache']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { setting: string; samples: number; top1: number };
    expect(out.setting).toMatch(/zero-shot \(head meanP, T=8, webgpu\/webgpu \(software: /);
    expect(out.samples).toBe(2);
    expect(out.top1).toBeGreaterThanOrEqual(0);
  });

  it('run --engine webgpu starts and says so in its start-up line', async () => {
    // Nothing listens on port 1: the camera only retries.
    const args = ['--weights', FIXTURE_DIR, '--labels', 'a,b', '--engine', 'webgpu', '--port', '0', '--host', '127.0.0.1', '--no-text-cache', '--camera', 'door=rtsp://127.0.0.1:1/stream'];
    const { code, stderr } = await runUntilStartup(args, ENV);
    expect(code).toBe(0);
    expect(stderr).toMatch(/"msg":"running: engine webgpu, backend webgpu \(software: [^"]*\), model [^"]*\(head meanP, T=8\)/);
  }, 120_000);
});
