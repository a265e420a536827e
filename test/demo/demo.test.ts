/**
 * The offline demo end to end, as a user's clone runs it: the package is copied into a temp folder
 * with no `../shared` beside it (node_modules linked), and `actionclip-stream demo` runs there
 * from source. The first run trains the demo model, the second reuses it, and a third, whose
 * first camera is given the other class's clip, must fail naming what was expected.
 *
 * The classes of the cameras are fixed by construction (cam1 shows DEMO_CLASSES[0], cam2
 * DEMO_CLASSES[1]); the detections are read from the printed lines, not from the demo's verdict.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CLASSES } from '../../src/demo/recipe.js';
import { REPO_ROOT } from '../support/fixtures.js';

let tmp: string;
let clone: string;
let cache: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'demo-e2e-'));
  clone = path.join(tmp, 'clone');
  cache = path.join(clone, '.cache', 'demo');
  for (const p of ['bin', 'src', 'pipelines', 'config', 'package.json', 'tsconfig.json']) await cp(path.join(REPO_ROOT, p), path.join(clone, p), { recursive: true });
  await symlink(realpathSync(path.join(REPO_ROOT, 'node_modules')), path.join(clone, 'node_modules'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function demo(): Promise<Run> {
  const env = { ...process.env, ACTIONCLIP_FROM_SOURCE: '1', ACTIONCLIP_FIXTURES: path.join(tmp, 'absent'), ACTIONCLIP_LABELS: path.join(tmp, 'absent') };
  const child = spawn(process.execPath, [path.join(clone, 'bin', 'actionclip-stream.js'), 'demo', '--dir', cache], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** camera -> labels of its printed detections ("camera demo: cam1 growing 0.93 (start)"). */
function detections(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of stdout.matchAll(/^camera demo: (\S+) (.+) (\d\.\d\d) \((start|update|end)[^)]*\)$/gm)) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  return out;
}

function expectRightDetections(run: Run): void {
  const seen = detections(run.stdout);
  DEMO_CLASSES.forEach((cls, i) => {
    const labels = seen.get(`cam${i + 1}`) ?? [];
    expect(labels.length, `detections of cam${i + 1}`).toBeGreaterThan(0);
    expect(new Set(labels), `cam${i + 1} shows ${cls}`).toEqual(new Set([cls]));
  });
}

describe('the offline demo (`actionclip-stream demo`) on a clone without ../shared', () => {
  it('trains the demo model, runs the service on two synthetic cameras, and its detections are right; a second run reuses the model', async () => {
    expect(existsSync(path.join(clone, '..', 'shared'))).toBe(false);
    const first = await demo();
    console.log(first.stdout);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/epoch 6\/6/);
    expect(first.stdout).toMatch(/DEMO model/);
    expectRightDetections(first);
    // Everything the demo wrote, and everything the service read, lies in the cache folder.
    const runYaml = readFileSync(path.join(cache, 'run.yaml'), 'utf8');
    for (const m of runYaml.matchAll(/(?:weights|url): (\S+)/g)) expect(m[1].startsWith(cache), m[1]).toBe(true);
    const models = readdirSync(cache).filter((d) => d.startsWith('model-'));
    expect(models).toHaveLength(1);
    expect(existsSync(path.join(cache, models[0], 'demo-model.json'))).toBe(true);

    const second = await demo();
    console.log(second.stdout);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/reusing the demo model/);
    expect(second.stdout).not.toMatch(/epoch 1\//);
    expectRightDetections(second);
  }, 1_200_000);

  it('fails, saying what was expected, when a camera shows the other class', async () => {
    const cams = readdirSync(cache).find((d) => d.startsWith('cameras-'));
    expect(cams).toBeDefined();
    copyFileSync(path.join(cache, cams!, 'cam2.mp4'), path.join(cache, cams!, 'cam1.mp4'));
    const run = await demo();
    console.log(run.stdout, run.stderr);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(new RegExp(`cam1: expected ${DEMO_CLASSES[0]}, got ${DEMO_CLASSES[1]}`));
  }, 300_000);
});
