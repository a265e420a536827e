/**
 * Which share of Node's main thread is inference. ONNX Runtime's Node binding runs a session
 * synchronously on the main thread (inside a setImmediate), beside its intra-op pool, so thread CPU
 * alone books part of inference as frame handling. V8's sampling profiler tells them apart: a
 * sample whose stack passes through onnxruntime's JavaScript is inference; any other non-idle
 * sample is the service's own frame handling (ffmpeg pipe, preprocessing, stages, sinks).
 */
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface MainThreadSplit {
  /** Share of the non-idle sampled time spent under onnxruntime (0..1). */
  readonly inferenceShare: number;
  /** The top self-time functions outside inference, for finding copies and slow steps. */
  readonly hottest: ReadonlyArray<{ readonly fn: string; readonly share: number }>;
}

export class MainThreadProfiler {
  private readonly session = new Session();

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 2000 });
    await this.session.post('Profiler.start');
  }

  async stop(): Promise<MainThreadSplit> {
    const { profile } = (await this.session.post('Profiler.stop')) as unknown as { profile: Profile };
    this.session.disconnect();
    return split(profile);
  }
}

const IDLE = new Set(['(idle)', '(program)']);

function split(profile: Profile): MainThreadSplit {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const underOrt = new Map<number, boolean>();
  const isOrt = (id: number): boolean => {
    const known = underOrt.get(id);
    if (known !== undefined) return known;
    const self = /onnxruntime/.test(byId.get(id)?.callFrame.url ?? '');
    const up = parent.get(id);
    const result = self || (up !== undefined && isOrt(up));
    underOrt.set(id, result);
    return result;
  };
  let busy = 0;
  let inference = 0;
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (node === undefined || IDLE.has(node.callFrame.functionName)) return;
    busy += dt;
    if (isOrt(id)) inference += dt;
    else {
      const fn = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').slice(-2).join('/')}`;
      self.set(fn, (self.get(fn) ?? 0) + dt);
    }
  });
  const hottest = [...self].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([fn, t]) => ({ fn, share: +(t / Math.max(1, busy)).toFixed(3) }));
  return { inferenceShare: busy === 0 ? 0 : inference / busy, hottest };
}
