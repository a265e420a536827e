/**
 * CPU time of processes and threads from /proc (Linux): utime + stime in clock ticks. The camera
 * benchmark splits the service's CPU into ffmpeg decoders (child processes), Node's main thread
 * (frame handling, preprocessing, the RxJS stages) and Node's other threads (ONNX Runtime's
 * intra-op pool and the libuv worker that runs each inference, plus a little GC).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports CPU times in USER_HZ, 100 on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

interface Stat {
  readonly comm: string;
  readonly ppid: number;
  readonly cpuSeconds: number;
}

/** Parses /proc/.../stat; the command name may hold spaces and parentheses, so split after its last ')'. */
function readStat(file: string): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // gone in between
  }
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { comm, ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
}

export interface CpuSnapshot {
  /** Node's main thread. */
  readonly nodeMain: number;
  /** Node's other threads. */
  readonly nodeOther: number;
  /** Per child ffmpeg PID of this process, minus the ones named in `exclude` (the feeders). */
  readonly decoders: ReadonlyMap<number, number>;
  /** Per excluded PID. */
  readonly excluded: ReadonlyMap<number, number>;
}

export function cpuSnapshot(exclude: ReadonlySet<number>): CpuSnapshot {
  const self = process.pid;
  let nodeMain = 0;
  let nodeOther = 0;
  for (const tid of readdirSync(`/proc/${self}/task`)) {
    const s = readStat(`/proc/${self}/task/${tid}/stat`);
    if (s === undefined) continue;
    if (Number(tid) === self) nodeMain = s.cpuSeconds;
    else nodeOther += s.cpuSeconds;
  }
  const decoders = new Map<number, number>();
  const excluded = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const s = readStat(`/proc/${pid}/stat`);
    if (s === undefined || s.ppid !== self || s.comm !== 'ffmpeg') continue;
    (exclude.has(pid) ? excluded : decoders).set(pid, s.cpuSeconds);
  }
  return { nodeMain, nodeOther, decoders, excluded };
}

/** CPU seconds spent between two snapshots, per part; processes that started in between count from 0. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): { nodeMain: number; nodeOther: number; decoders: number; excluded: number } {
  const sum = (before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number =>
    [...after].reduce((acc, [pid, s]) => acc + s - (before.get(pid) ?? 0), 0);
  return { nodeMain: b.nodeMain - a.nodeMain, nodeOther: b.nodeOther - a.nodeOther, decoders: sum(a.decoders, b.decoders), excluded: sum(a.excluded, b.excluded) };
}

/** The calling thread's time on a CPU in seconds, to the nanosecond (schedstat, not tick-sampled stat). */
export function threadCpuSeconds(): number {
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9;
}
