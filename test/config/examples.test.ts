// The shipped example configurations: each parses with the real loader, points at files the quick
// start makes, and runs as it is (the CLI as a child process, against a copy of the demo files).
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, resolveVocabulary } from '../../config/load.js';
import { writeSafetensors } from '../../src/model/weights/safetensors.js';
import { syntheticClipWeights } from '../../src/model/weights/synthetic-weights.js';
import { REPO_ROOT } from '../support/fixtures.js';
import { freePort } from '../../harness/processes.js';

const EXAMPLES = ['config/example.yaml', 'config/example-kafka.yaml'];
const QUICKSTART = readFileSync(path.join(REPO_ROOT, 'scripts/quickstart.sh'), 'utf8');

describe.each(EXAMPLES)('%s', (file) => {
  const config = loadConfig({ file: path.join(REPO_ROOT, file) });

  it('parses with the config loader and has a vocabulary', () => {
    expect(resolveVocabulary(config).labels.length).toBeGreaterThan(0);
  });

  it('points at files the quick start makes (weights, file cameras), inside the repository', () => {
    const made = [config.weights, ...config.cameras.map((c) => c.url).filter((u) => !/^[a-z][a-z0-9+.-]*:/i.test(u))];
    // The quick start runs `demo --dir D`, which links its model as D/model and its clips as D/camN.mp4.
    const demoDir = /demo --dir (\S+)/.exec(QUICKSTART)?.[1];
    expect(demoDir, 'scripts/quickstart.sh runs the demo').toBeDefined();
    for (const p of made) {
      expect(p.startsWith(REPO_ROOT + path.sep), p).toBe(true);
      expect(path.dirname(path.relative(REPO_ROOT, p)), `scripts/quickstart.sh makes ${path.relative(REPO_ROOT, p)}`).toBe(demoDir);
      expect(path.basename(p)).toMatch(/^(model|cam\d+\.mp4)$/);
    }
  });
});

describe('example configurations', () => {
  it('one for cameras only, one with Kafka on loopback with every topic', () => {
    const cams = loadConfig({ file: path.join(REPO_ROOT, 'config/example.yaml') });
    expect(cams.kafka).toBeUndefined();
    expect(cams.cameras.length).toBeGreaterThan(0);
    const kafka = loadConfig({ file: path.join(REPO_ROOT, 'config/example-kafka.yaml') });
    expect(kafka.kafka).toMatchObject({ brokers: ['127.0.0.1:9092'], framesTopic: expect.any(String), detectionsTopic: expect.any(String), controlTopic: expect.any(String) });
  });
});

/** A copy of the repository's layout around the examples: config/ and the demo files in .cache/demo. */
async function demoTree(): Promise<string> {
  const root = mkdtempSync(path.join(tmpdir(), 'actionclip-examples-'));
  mkdirSync(path.join(root, 'config'));
  mkdirSync(path.join(root, '.cache', 'demo'), { recursive: true });
  for (const f of EXAMPLES) copyFileSync(path.join(REPO_ROOT, f), path.join(root, f));
  // Where `demo` links its model and first camera clip (a tiny random model stands in for the
  // trained one: training takes minutes and is the demo test's business, not this one's).
  const tiny = { name: 'tiny-random', patch: 16, resolution: 32, visionWidth: 64, visionLayers: 1, embedDim: 32, textWidth: 64, textLayers: 1 };
  mkdirSync(path.join(root, '.cache/demo/model'));
  await writeSafetensors(path.join(root, '.cache/demo/model/clip.safetensors'), syntheticClipWeights(tiny));
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-t', '3', '-pix_fmt', 'yuv420p', path.join(root, '.cache/demo/cam1.mp4')]);
  return root;
}

/** Runs the CLI until `done(stdout, stderr)` holds or it exits; then SIGTERM. */
async function runUntil(args: string[], done: (out: string, err: string) => boolean | Promise<boolean>): Promise<{ out: string; err: string; code: number | null }> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/actionclip-stream.js'), ...args], { cwd: REPO_ROOT, env: { ...process.env, ACTIONCLIP_FROM_SOURCE: '1', ACTIONCLIP_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 90_000;
  while (child.exitCode === null && Date.now() < deadline && !(await done(out, err))) await new Promise((r) => setTimeout(r, 250));
  child.kill('SIGTERM');
  return { out, err, code: await exited };
}

const urlOf = (err: string): string | undefined => /"msg":"running:[^"]*API (http:\/\/[^,]+),/.exec(err)?.[1];

describe('the examples run as they are', () => {
  let root: string;
  beforeAll(async () => {
    root = await demoTree();
  }, 60_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('cameras only: the demo camera yields windows on stdout (JSONL)', async () => {
    expect(existsSync(path.join(root, '.cache/demo/cam1.mp4'))).toBe(true);
    const r = await runUntil(['run', '--config', path.join(root, 'config/example.yaml'), '--port', '0'], (out) => out.includes('"type":"window"'));
    const windows = r.out.split('\n').filter((l) => l.includes('"type":"window"')).map((l) => JSON.parse(l) as { camera: string; label: string });
    expect(windows.length, r.err.slice(-2000)).toBeGreaterThan(0);
    expect(windows[0]).toMatchObject({ camera: 'demo' });
    expect(r.code).toBe(0);
  }, 120_000);

  it('with Kafka and no broker: starts, /health is degraded and lists the Kafka clients', async () => {
    const port = await freePort(); // nothing listens there
    let health: { status: string; kafka?: Record<string, { status: string }> } | undefined;
    const r = await runUntil(['run', '--config', path.join(root, 'config/example-kafka.yaml'), '--port', '0', '--kafka', `127.0.0.1:${port}`], async (_out, err) => {
      const url = urlOf(err);
      if (url === undefined) return false;
      health = (await (await fetch(`${url}/health`)).json()) as typeof health;
      return Object.keys(health?.kafka ?? {}).length === 3;
    });
    expect(health, r.err.slice(-2000)).toMatchObject({ status: 'degraded' });
    expect(Object.keys(health!.kafka!).sort()).toEqual(['kafka-control', 'kafka-detections', 'kafka-frames']);
    expect(r.code).toBe(0);
  }, 120_000);
});
