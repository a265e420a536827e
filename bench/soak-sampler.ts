/**
 * What the soak benchmark measures about its own process every interval: memory, tensors, file
 * descriptors, ffmpeg children and event-loop lag; and the least-squares slope per hour of each
 * after warm-up (a leak is a slope, not a level).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';

export interface Sample {
  /** Seconds since the start of the run. */
  readonly t: number;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly externalMiB: number;
  readonly tensors: number;
  /** The tfjs wasm backend's heap: it grows to the largest call's need and never shrinks. */
  readonly wasmHeapMiB: number;
  readonly fds: number;
  readonly ffmpeg: number;
  /** Event-loop delay over the interval, ms. */
  readonly lagMeanMs: number;
  readonly lagP99Ms: number;
  readonly windows: number;
}

export const SAMPLED = ['rssMiB', 'heapUsedMiB', 'externalMiB', 'wasmHeapMiB', 'tensors', 'fds', 'ffmpeg', 'lagP99Ms'] as const;
export type Sampled = (typeof SAMPLED)[number];

const MiB = 1024 * 1024;

/** Size of the wasm backend's linear memory (an internal of tfjs-backend-wasm); 0 on other backends. */
function wasmHeapBytes(): number {
  try {
    return (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.byteLength ?? 0;
  } catch {
    return 0;
  }
}

/** Open descriptors of this process (Linux). */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Running ffmpeg processes whose parent is this process, other than `exclude` (the bench's own publishers). */
export function ffmpegChildren(exclude: ReadonlySet<number>): number {
  let n = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || exclude.has(Number(entry))) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces, so split after the closing parenthesis.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === process.pid && comm === 'ffmpeg') n++;
    } catch {
      // exited between readdir and read
    }
  }
  return n;
}

export class Sampler {
  private readonly lag = monitorEventLoopDelay({ resolution: 10 });
  private readonly start = performance.now();
  readonly samples: Sample[] = [];

  constructor(private readonly probe: { publisherPids: () => ReadonlySet<number>; windows: () => number }) {
    this.lag.enable();
  }

  take(): Sample {
    const m = process.memoryUsage();
    const s: Sample = {
      t: Math.round((performance.now() - this.start) / 1000),
      rssMiB: m.rss / MiB,
      heapUsedMiB: m.heapUsed / MiB,
      externalMiB: m.external / MiB,
      tensors: tf.memory().numTensors,
      wasmHeapMiB: wasmHeapBytes() / MiB,
      fds: openFds(),
      ffmpeg: ffmpegChildren(this.probe.publisherPids()),
      lagMeanMs: this.lag.mean / 1e6,
      lagP99Ms: this.lag.percentile(99) / 1e6,
      windows: this.probe.windows(),
    };
    this.lag.reset();
    this.samples.push(s);
    return s;
  }

  stop(): void {
    this.lag.disable();
  }
}

/** Least-squares slope of y over t (seconds), per hour; NaN with fewer than two points. */
export function slopePerHour(points: ReadonlyArray<{ t: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3600;
}

export interface Summary {
  readonly min: number;
  readonly max: number;
  readonly last: number;
  readonly slopePerHour: number;
}

/** Per measure: range over the whole run, slope after `warmupSec`. */
export function summarize(samples: readonly Sample[], warmupSec: number): Record<Sampled, Summary> {
  const after = samples.filter((s) => s.t >= warmupSec);
  const out = {} as Record<Sampled, Summary>;
  for (const k of SAMPLED) {
    const ys = samples.map((s) => s[k]);
    out[k] = {
      min: Math.min(...ys),
      max: Math.max(...ys),
      last: ys[ys.length - 1],
      slopePerHour: slopePerHour(after.map((s) => ({ t: s.t, y: s[k] }))),
    };
  }
  return out;
}
