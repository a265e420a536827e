import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../config/load.js';
import { REPO_ROOT } from '../support/fixtures.js';

// No Docker engine runs here, so the images are not built in CI; what can be checked without one is.
const DOCKERFILES = ['docker/Dockerfile', 'docker/Dockerfile.gpu'];

interface Instruction {
  op: string;
  args: string;
  line: number;
}

function instructions(file: string): Instruction[] {
  const lines = readFileSync(path.join(REPO_ROOT, file), 'utf8').split('\n');
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (buf === '' && (line === '' || line.startsWith('#'))) return;
    if (buf === '') start = i + 1;
    buf += `${line.replace(/\\$/, '')} `;
    if (!line.endsWith('\\')) {
      const m = /^([A-Z]+)\s+(.*)$/.exec(buf.trim());
      if (m) out.push({ op: m[1], args: m[2], line: start });
      buf = '';
    }
  });
  return out;
}

describe.each(DOCKERFILES)('%s', (file) => {
  const ins = instructions(file);
  const KNOWN = new Set(['FROM', 'RUN', 'COPY', 'WORKDIR', 'ENV', 'EXPOSE', 'ENTRYPOINT', 'CMD', 'USER', 'VOLUME', 'HEALTHCHECK', 'ARG', 'LABEL', 'SHELL']);

  it('uses only known instructions and starts with FROM', () => {
    expect(ins[0].op).toBe('FROM');
    for (const i of ins) expect(KNOWN.has(i.op), `${file}:${i.line} ${i.op}`).toBe(true);
  });

  it('copies only paths that exist in the repository', () => {
    for (const i of ins.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
      const parts = i.args.split(/\s+/);
      for (const src of parts.slice(0, -1)) expect(existsSync(path.join(REPO_ROOT, src)), `${file}:${i.line} COPY ${src}`).toBe(true);
    }
  });

  it('compiles from the files it copies alone (what the build stage has before `npm run build`)', () => {
    // A file the build imports but the image does not copy (a benchmark importing test/, say) fails only in `docker build`; this catches it here.
    const dir = mkdtempSync(path.join(tmpdir(), 'docker-context-'));
    try {
      const sources = ins.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from')).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
      for (const src of sources) cpSync(path.join(REPO_ROOT, src), path.join(dir, src), { recursive: true });
      symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      let out = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--noEmit'], { cwd: dir, encoding: 'utf8' });
      } catch (err) {
        out = String((err as { stdout?: string }).stdout ?? err);
      }
      expect(out, `${file}: tsc in a context of only its COPY sources`).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the CLI with a config file that exists, in exec form', () => {
    const entry = ins.find((x) => x.op === 'ENTRYPOINT')!;
    const cmd = ins.find((x) => x.op === 'CMD')!;
    const argv = [...(JSON.parse(entry.args) as string[]), ...(JSON.parse(cmd.args) as string[])];
    expect(argv).toContain('bin/actionclip-stream.js');
    expect(existsSync(path.join(REPO_ROOT, 'bin/actionclip-stream.js'))).toBe(true);
    const cfg = argv[argv.indexOf('--config') + 1];
    expect(existsSync(path.join(REPO_ROOT, cfg)), cfg).toBe(true);
  });

  it('runs the demo by default: the files its config names are made in the image, and it listens beyond loopback', () => {
    const cmd = JSON.parse(ins.find((x) => x.op === 'CMD')!.args) as string[];
    const config = loadConfig({ file: path.join(REPO_ROOT, cmd[cmd.indexOf('--config') + 1]!) });
    const text = ins.filter((x) => x.op === 'RUN').map((x) => x.args).join('\n');
    // `demo --dir D --prepare-only` links its model as D/model and its clips as D/cam1.mp4 ….
    const made = /demo --dir (\S+) --prepare-only/.exec(text);
    expect(made, `${file} runs the demo's preparation`).not.toBeNull();
    for (const p of [config.weights, ...config.cameras.map((c) => c.url)]) expect(path.dirname(path.relative(REPO_ROOT, p)), `${file} makes ${path.relative(REPO_ROOT, p)}`).toBe(made![1]);
    expect(cmd[cmd.indexOf('--host') + 1]).toBe('0.0.0.0');
    expect(cmd).toContain('--insecure-no-auth'); // no tokens in a demo image: said out loud
  });

  it('skips the ONNX Runtime CUDA download with the env variable (no .npmrc key) and checks health in exec form', () => {
    expect(ins.some((x) => x.op === 'ENV' && x.args.includes('ONNXRUNTIME_NODE_INSTALL=skip'))).toBe(true);
    const health = ins.find((x) => x.op === 'HEALTHCHECK')!;
    expect(health.args).toMatch(/CMD \["node", "-e", .*\/health/);
  });
});

interface ComposeService {
  build?: { context: string; dockerfile: string };
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  volumes?: string[];
}

describe('docker/compose.yaml', () => {
  const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker/compose.yaml'), 'utf8')) as { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
  const { worker, kafka } = compose.services;

  it('builds the worker from this repository and scales it over a Kafka consumer group', () => {
    const ctx = path.resolve(REPO_ROOT, 'docker', worker.build!.context);
    expect(ctx).toBe(REPO_ROOT);
    expect(existsSync(path.join(ctx, worker.build!.dockerfile))).toBe(true);
    const argv = worker.command!;
    expect(argv[0]).toBe('run');
    expect(argv[argv.indexOf('--kafka') + 1]).toBe('kafka:9092');
    const config = loadConfig({ file: path.join(REPO_ROOT, argv[argv.indexOf('--config') + 1]!), overrides: { weights: 'w' } });
    expect(config.kafka).toMatchObject({ framesTopic: expect.any(String), detectionsTopic: expect.any(String), controlTopic: expect.any(String) });
  });

  it('starts workers once the broker is healthy, and publishes their port and the broker to the host', () => {
    expect(kafka.healthcheck?.test.join(' ')).toContain('kafka-broker-api-versions.sh --bootstrap-server localhost:9092');
    expect(worker.depends_on).toEqual({ kafka: { condition: 'service_healthy' } });
    const argv = worker.command!;
    expect(argv[argv.indexOf('--host') + 1]).toBe('0.0.0.0');
    // Without tokens (--insecure-no-auth) the workers are published on the host's loopback only.
    expect(argv).toContain('--insecure-no-auth');
    expect(worker.ports).toEqual([`127.0.0.1:8080-8089:${argv[argv.indexOf('--port') + 1]}`]);
    expect(kafka.ports).toEqual(['9094:9094']);
  });

  it('runs the demo model of the image unless given one, and needs no folder beside it', () => {
    const argv = worker.command!;
    const weights = /^\$\{ACTIONCLIP_WEIGHTS:-\/app\/(.+)\}$/.exec(argv[argv.indexOf('--weights') + 1]!);
    expect(weights, 'the --weights default is a file of the image').not.toBeNull();
    expect(readFileSync(path.join(REPO_ROOT, worker.build!.dockerfile), 'utf8')).toContain(`demo --dir ${path.dirname(weights![1])} --prepare-only`);
    const models = worker.volumes!.find((v) => v.includes(':/models'))!;
    expect(models).toBe('${MODELS_DIR:-models}:/models:ro');
    expect(compose.volumes).toHaveProperty('models');
  });
});

describe('docker/compose.yaml: the fleet', () => {
  const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker/compose.yaml'), 'utf8')) as { services: Record<string, ComposeService & { deploy?: { replicas: number }; profiles?: string[]; entrypoint?: string[] }> };
  const { gateway, ingest, infer, cameras, worker } = compose.services;

  it('runs gateway, ingest and infer with one fleet configuration and the broker on the compose network', () => {
    for (const [role, s] of [['gateway', gateway], ['ingest', ingest], ['infer', infer]] as const) {
      const argv = s.command!;
      expect(argv[0]).toBe(role);
      expect(argv[argv.indexOf('--kafka') + 1]).toBe('kafka:9092');
      const config = loadConfig({ file: path.join(REPO_ROOT, argv[argv.indexOf('--config') + 1]!), overrides: { weights: 'w' } });
      expect(config.fleet.topics.frames).toBe('actionclip.fleet.frames');
      expect(s.depends_on).toEqual({ kafka: { condition: 'service_healthy' } });
    }
    expect(ingest.deploy?.replicas).toBe(2);
    expect(infer.deploy?.replicas).toBe(2);
  });

  it('publishes only the gateway, on the host loopback, since it runs without tokens', () => {
    const argv = gateway.command!;
    expect(argv).toContain('--insecure-no-auth');
    expect(gateway.ports).toEqual([`127.0.0.1:8080:${argv[argv.indexOf('--port') + 1]}`]);
    expect(ingest.ports).toBeUndefined();
    expect(infer.ports).toBeUndefined();
  });

  it('feeds mediamtx the demo clips of the image with ffmpeg in argument form, and keeps the old single-process workers behind a profile', () => {
    expect(cameras.entrypoint).toEqual(['ffmpeg']);
    const inputs = cameras.command!.filter((_, i, a) => a[i - 1] === '-i');
    expect(inputs).toEqual(['.cache/demo/cam1.mp4', '.cache/demo/cam2.mp4']);
    expect(readFileSync(path.join(REPO_ROOT, 'docker/Dockerfile'), 'utf8')).toContain('demo --dir .cache/demo --prepare-only');
    expect(worker.profiles).toEqual(['single']);
  });
});
