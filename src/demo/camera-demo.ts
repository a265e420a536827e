/**
 * The main job on the demo cameras: `actionclip-stream run` as a child process (the command a user
 * runs, JSONL on stdout), its detections printed as they come, the service stopped once every
 * camera has played its file, and the detections checked against the class each camera shows.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { DetectionMessageSchema, type DetectionMessage } from '../detections/schema.js';
import type { DemoCamera } from './camera-clips.js';
import { DemoError, type DemoModel } from './demo-model.js';
import { DEMO_CAMERAS } from './recipe.js';

export interface CameraDemoOptions {
  readonly model: DemoModel;
  readonly cameras: readonly DemoCamera[];
  readonly cacheDir: string;
  readonly engine?: string;
  readonly backend?: string;
  readonly print: (line: string) => void;
  /** The whole run, model load included; default 3 minutes. */
  readonly timeoutMs?: number;
}

/** After the last camera stopped: time for windows still in flight to be published. */
const DRAIN_MS = 1500;

/** The CLI entry of this package (bin/ beside src/ or dist/src/). */
export function findCliEntry(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const bin = path.join(dir, 'bin', 'actionclip-stream.js');
    if (existsSync(bin) && existsSync(path.join(dir, 'package.json'))) return bin;
  }
  throw new DemoError(`cannot find bin/actionclip-stream.js in a folder above ${from}`);
}

/** A port free on loopback now (the kernel's pick), so the demo can say where its dashboard is before the service starts. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as import('node:net').AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The service configuration of the demo: the run command's YAML, written into the cache. */
export async function writeRunConfig(opts: CameraDemoOptions, port = 0): Promise<string> {
  const { model, cameras } = opts;
  const doc = {
    weights: model.dir,
    head: model.head,
    ...(opts.engine === undefined ? {} : { engine: opts.engine }),
    ...(opts.backend === undefined ? {} : { backend: opts.backend }),
    cameras: cameras.map((c) => ({ id: c.id, url: c.file })),
    labels: [...model.labels],
    templates: [...model.templates],
    ...DEMO_CAMERAS.run,
    decode: { width: 40, height: 32 },
    port,
    host: '127.0.0.1',
    jsonl: '-',
    logLevel: 'warn',
  };
  const file = path.join(path.resolve(opts.cacheDir), 'run.yaml');
  await writeFile(file, `# written by actionclip-stream demo\n${stringify(doc)}`);
  return file;
}

/** Runs the service on the demo cameras until each has played its file; returns what it published. */
export async function runCameraDemo(opts: CameraDemoOptions): Promise<DetectionMessage[]> {
  const port = await freeLoopbackPort();
  const config = await writeRunConfig(opts, port);
  const child = spawn(process.execPath, [findCliEntry(), 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: DetectionMessage[] = [];
  const stopped = new Set<string>();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  createInterface({ input: child.stdout }).on('line', (line) => {
    const parsed = DetectionMessageSchema.safeParse(safeJson(line));
    if (!parsed.success) return;
    const m = parsed.data;
    // The first message says the service is up: its dashboard shows these cameras while they play.
    if (messages.length === 0) opts.print(`demo: dashboard at http://127.0.0.1:${port}/ (live while the demo cameras play; \`actionclip-stream run\` prints its own)`);
    messages.push(m);
    if (m.type === 'start' || m.type === 'update' || m.type === 'end') opts.print(describeDetection(m));
    if (m.type === 'camera' && m.state.status === 'stopped') {
      stopped.add(m.camera);
      if (stopped.size === opts.cameras.length) setTimeout(() => child.kill('SIGTERM'), DRAIN_MS);
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', (err) => reject(new DemoError(`cannot start ${process.execPath}: ${err.message}`, { cause: err })));
    child.on('close', (c, s) => resolve([c, s]));
  });
  clearTimeout(timer);
  if (stopped.size < opts.cameras.length) {
    const why = signal === 'SIGKILL' ? `did not finish within ${timeoutMs / 1000} s` : `exited (code ${code}, signal ${signal}) before every camera had played its clip`;
    throw new DemoError(`the service ${why}; its last output:\n${stderr.trim() || '(none)'}`);
  }
  return messages;
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

/** One detection as a person reads it: "camera demo: cam1 growing 0.93 (start)". */
export function describeDetection(m: DetectionMessage & { type: 'start' | 'update' | 'end' }): string {
  return `camera demo: ${m.camera} ${m.label} ${m.score.toFixed(2)} (${m.type}${m.type === 'end' ? `: ${m.reason}` : ''})`;
}
