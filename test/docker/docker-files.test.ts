import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
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
  const KNOWN = new Set(['FROM', 'RUN', 'COPY', 'WORKDIR', 'ENV', 'EXPOSE', 'ENTRYPOINT', 'CMD', 'USER', 'VOLUME', 'HEALTHCHECK', 'ARG', 'LABEL']);

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

  it('runs the CLI with a config file that exists, in exec form', () => {
    const entry = ins.find((x) => x.op === 'ENTRYPOINT')!;
    const cmd = ins.find((x) => x.op === 'CMD')!;
    const argv = [...(JSON.parse(entry.args) as string[]), ...(JSON.parse(cmd.args) as string[])];
    expect(argv).toContain('bin/actionclip-stream.js');
    expect(existsSync(path.join(REPO_ROOT, 'bin/actionclip-stream.js'))).toBe(true);
    const cfg = argv[argv.indexOf('--config') + 1];
    expect(existsSync(path.join(REPO_ROOT, cfg)), cfg).toBe(true);
  });
});

describe('docker/compose.yaml', () => {
  const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker/compose.yaml'), 'utf8')) as {
    services: Record<string, { build?: { context: string; dockerfile: string }; command?: string[]; depends_on?: string[] }>;
  };

  it('builds the worker from this repository and scales it over a Kafka consumer group', () => {
    const worker = compose.services.worker;
    const ctx = path.resolve(REPO_ROOT, 'docker', worker.build!.context);
    expect(ctx).toBe(REPO_ROOT);
    expect(existsSync(path.join(ctx, worker.build!.dockerfile))).toBe(true);
    expect(worker.depends_on).toContain('kafka');
    const argv = worker.command!;
    expect(argv[0]).toBe('run');
    expect(argv[argv.indexOf('--kafka') + 1]).toBe('kafka:9092');
    for (const flag of ['--frames-topic', '--detections-topic', '--control-topic']) expect(argv).toContain(flag);
  });
});
