/**
 * `npm run bench:soak -- --minutes N --cameras C`: the live pipeline for N minutes on C real RTSP
 * cameras (mediamtx fed by ffmpeg test patterns; some publishers restart on a schedule), with
 * vocabulary changes, WebSocket clients coming and going (slow ones included) and /metrics and
 * /health scraped every 15 s. Every --sample-sec it samples RSS, heap, tensors, fds, ffmpeg
 * children and event-loop lag; at the end it reports each one's slope per hour after warm-up and
 * windows produced against expected, prints a table and writes bench/results/soak-<date>.json.
 * A benchmark, not a test: on a shared machine the lag figures depend on the neighbours; memory,
 * fd and tensor slopes do not.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { startLive } from '../pipelines/live.js';
import { Instrumentation } from '../src/instrumentation/instrumentation.js';
import { createLogger } from '../src/observability/logger.js';
import { startRtspServer } from '../harness/rtsp-server.js';
import { Clients, Publishers, vocabularyAt } from './soak-load.js';
import { SAMPLED, Sampler, summarize, type Sample } from './soak-sampler.js';
import { WindowLedger } from './soak-windows.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    cameras: { type: 'string', default: '4' },
    fps: { type: 'string', default: '4' },
    'publish-fps': { type: 'string', default: '8' },
    'warmup-minutes': { type: 'string' },
    'sample-sec': { type: 'string', default: '10' },
    'restart-every-sec': { type: 'string', default: '300' },
    'vocabulary-every-sec': { type: 'string', default: '20' },
    'client-every-sec': { type: 'string', default: '15' },
    'scrape-every-sec': { type: 'string', default: '15' },
    weights: { type: 'string', default: path.resolve(ROOT, '..', 'shared', 'fixtures', 'actionclip-reference') },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'results') },
  },
});
const num = (k: keyof typeof args): number => Number(args[k]);
const minutes = num('minutes');
const cameraCount = num('cameras');
const warmupSec = 60 * (args['warmup-minutes'] === undefined ? Math.min(10, minutes / 4) : num('warmup-minutes'));
const WINDOW = 8;
const STRIDE = 4;

async function main(): Promise<void> {
  const log = createLogger({ level: 'warn' });
  const rtsp = await startRtspServer();
  const publishers = new Publishers(rtsp, { width: 160, height: 120, fps: num('publish-fps') });
  await publishers.start(cameraCount);
  const instrumentation = new Instrumentation();
  const ledger = new WindowLedger(instrumentation, WINDOW, STRIDE);
  const w = args.weights!;
  // An empty text cache: the first encoding (which sets the wasm heap's high-water mark) happens at
  // the start, inside the warm-up, not whenever a label missing from an earlier run's cache comes up.
  const textCacheDir = await mkdtemp(path.join(os.tmpdir(), 'soak-text-cache-'));
  const config = loadConfig({
    overrides: {
      weights: path.join(w, 'clip.safetensors'), fusion: path.join(w, 'fusion-Transf.safetensors'), head: 'Transf', engine: 'tfjs',
      cameras: Array.from({ length: cameraCount }, (_, i) => ({ id: `cam${i}`, url: rtsp.url(publishers.path(i)) })),
      labels: vocabularyAt(0), window: WINDOW, stride: STRIDE, fps: num('fps'), decode: { width: 32, height: 32 },
      port: 0, host: '127.0.0.1', logLevel: 'warn', textCache: { enabled: true, dir: textCacheDir, maxMB: 64 },
      supervision: { stallTimeoutSec: 3, connectTimeoutSec: 20, backoff: { initialMs: 200, maxMs: 2000, jitter: 0.2 } },
    },
  });
  const live = await startLive({ config, logger: log, instrumentation });
  const clients = new Clients(`ws://127.0.0.1:${live.port}/ws`);
  await clients.startReference();
  const sampler = new Sampler({ publisherPids: () => publishers.pids(), windows: () => ledger.produced() });
  const started = Date.now();
  const commit = gitCommit(); // at the start: the code that runs, not what HEAD is when it ends
  const timers: NodeJS.Timeout[] = [];
  const every = (sec: number, f: (i: number) => void): void => {
    let i = 0;
    timers.push(setInterval(() => f(++i), sec * 1000));
  };
  let vocabularyChanges = 0;
  let vocabularyFailures = 0;
  every(num('vocabulary-every-sec'), (i) => void live.control.updateVocabulary({ labels: vocabularyAt(i) }).then(() => vocabularyChanges++, () => vocabularyFailures++));
  // Half the cameras (at least one) take turns restarting their publisher.
  const restarting = Math.max(1, Math.floor(cameraCount / 2));
  every(num('restart-every-sec'), (i) => void publishers.restart((i - 1) % restarting));
  // Every third visitor never reads.
  every(num('client-every-sec'), (i) => clients.visit(20_000 + (i % 4) * 10_000, i % 3 === 0));
  // As Prometheus and a load balancer would: /metrics and /health on a schedule.
  const scrapes = { ok: 0, failed: 0 };
  every(num('scrape-every-sec'), () => {
    for (const route of ['/metrics', '/health'])
      void fetch(`${live.url}${route}`).then((r) => r.text().then(() => (r.ok ? scrapes.ok++ : scrapes.failed++)), () => scrapes.failed++);
  });
  every(num('sample-sec'), () => {
    const s = sampler.take();
    console.log(progressLine(s, clients.connected()));
  });
  await new Promise((r) => setTimeout(r, minutes * 60_000));
  for (const t of timers) clearInterval(t);

  // Sources end, the windows in flight drain; then the books close.
  await publishers.stopAll();
  await new Promise((r) => setTimeout(r, 10_000));
  const windows = ledger.counts();
  sampler.stop();
  clients.stopAll();
  await live.stop();
  await rtsp.stop();
  await rm(textCacheDir, { recursive: true, force: true });
  ledger.close();

  const summary = summarize(sampler.samples, warmupSec);
  const lost = Math.max(0, windows.total.expected - windows.total.produced - windows.total.windowsDropped);
  const result = {
    date: new Date(started).toISOString(), commit, host: os.hostname(), cpus: os.cpus().length, loadavg: os.loadavg(), node: process.version,
    minutes, cameras: cameraCount, fps: num('fps'), window: WINDOW, stride: STRIDE, warmupSec, engine: live.engine,
    load: { publisherRestarts: publishers.restarts, publisherRestartFailures: publishers.failures, vocabularyChanges, vocabularyFailures, clients: clients.counts, scrapes },
    summary, windows: { ...windows, lost }, samples: sampler.samples,
  };
  await mkdir(args.out!, { recursive: true });
  const file = path.join(args.out!, `soak-${result.date.slice(0, 16).replace(':', '')}.json`);
  await writeFile(file, JSON.stringify(result, null, 1));
  printTable(result.summary, windows.total, lost, result.load);
  console.log(`written ${path.relative(process.cwd(), file)}`);
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function progressLine(s: Sample, connected: number): string {
  return `t=${s.t}s rss=${s.rssMiB.toFixed(1)}MiB heap=${s.heapUsedMiB.toFixed(1)}MiB tensors=${s.tensors} fds=${s.fds} ffmpeg=${s.ffmpeg} lag p99=${s.lagP99Ms.toFixed(1)}ms windows=${s.windows} ws=${connected}`;
}

function printTable(summary: ReturnType<typeof summarize>, w: { expected: number; produced: number; windowsDropped: number; framesDropped: number; resets: number; misdated: number }, lost: number, load: object): void {
  const rows = SAMPLED.map((k) => ({ measure: k, min: summary[k].min.toFixed(2), max: summary[k].max.toFixed(2), last: summary[k].last.toFixed(2), 'slope/h (after warm-up)': summary[k].slopePerHour.toFixed(3) }));
  console.table(rows);
  console.table([{ expected: w.expected, produced: w.produced, 'windows dropped': w.windowsDropped, 'frames dropped': w.framesDropped, 'window resets': w.resets, 'frames misdated': w.misdated, lost }]);
  console.log(JSON.stringify(load));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
