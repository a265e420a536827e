/**
 * What `/health` says: `ok`, or `degraded` with one entry per component that is not well and why
 * (a camera not streaming, a Kafka client not connected, a sink whose buffer is filling or that
 * dropped messages lately). Liveness stays 200 either way: restarting the process mends none of it.
 */
import type { ConnectionStatus, Instrumentation, SinkName } from '../instrumentation/instrumentation.js';
import type { CameraStatus } from '../types.js';
import type { CameraInfo } from './camera-registry.js';

/** A sink's backlog as /health shows it. */
export interface SinkView {
  readonly sink: SinkName;
  readonly buffered: number;
  /** The sink's bound, when it has one. */
  readonly limit?: number;
  /** Messages dropped within the last `recentMs` (buffer full, slow client). */
  readonly droppedRecently: number;
}

/** One Kafka client's connection (ControlPlane's ConnectionView). */
export interface LinkView {
  readonly status: ConnectionStatus;
  readonly since: string;
  readonly error?: string;
}

export interface DegradedComponent {
  /** `camera`, `kafka` or `sink`. */
  readonly component: 'camera' | 'kafka' | 'sink';
  /** The camera id, Kafka client or sink name. */
  readonly id: string;
  readonly reason: string;
  /** When it entered this state (ISO 8601), where known. */
  readonly since?: string;
}

export interface HealthView {
  readonly status: 'ok' | 'degraded';
  /** Absent when ok. */
  readonly degraded?: readonly DegradedComponent[];
  /** Cameras by supervision status; absent without cameras. */
  readonly cameras?: Partial<Record<CameraStatus, number>>;
  readonly kafka?: Partial<Record<string, LinkView>>;
  readonly sinks?: readonly SinkView[];
}

/** A buffer more than this full counts as behind. */
export const SINK_BEHIND_FRACTION = 0.5;

export interface HealthInput {
  readonly cameras: readonly CameraInfo[];
  readonly connections: Partial<Record<string, LinkView>>;
  readonly sinks: readonly SinkView[];
}

/** A camera is well while it streams, or while it makes its first connection. */
function cameraTrouble(c: CameraInfo): DegradedComponent | undefined {
  const s = c.state;
  if (s === undefined || s.status === 'streaming' || (s.status === 'connecting' && s.attempt === 0)) return undefined;
  const attempt = s.attempt > 0 ? ` (attempt ${s.attempt})` : '';
  return { component: 'camera', id: c.id, reason: `${s.status}${attempt}${s.reason === undefined ? '' : `: ${s.reason}`}`, since: new Date(s.since).toISOString() };
}

function sinkTrouble(s: SinkView): DegradedComponent | undefined {
  if (s.droppedRecently > 0) return { component: 'sink', id: s.sink, reason: `dropped ${s.droppedRecently} messages lately (${s.buffered} buffered${s.limit === undefined ? '' : ` of ${s.limit}`})` };
  if (s.limit !== undefined && s.buffered > s.limit * SINK_BEHIND_FRACTION) return { component: 'sink', id: s.sink, reason: `behind: ${s.buffered} of ${s.limit} messages buffered` };
  return undefined;
}

export function assessHealth(input: HealthInput): HealthView {
  const degraded: DegradedComponent[] = [];
  const cameras: Partial<Record<CameraStatus, number>> = {};
  for (const c of input.cameras) {
    if (c.state !== undefined) cameras[c.state.status] = (cameras[c.state.status] ?? 0) + 1;
    const t = cameraTrouble(c);
    if (t !== undefined) degraded.push(t);
  }
  for (const [id, link] of Object.entries(input.connections)) {
    if (link !== undefined && link.status !== 'connected') degraded.push({ component: 'kafka', id, reason: `${link.status}${link.error === undefined ? '' : `: ${link.error}`}`, since: link.since });
  }
  for (const s of input.sinks) {
    const t = sinkTrouble(s);
    if (t !== undefined) degraded.push(t);
  }
  // Only what there is to say: a bare service answers `{"status":"ok"}` as it always did.
  const some = <K extends string, V>(key: K, v: V, present: boolean) => (present ? ({ [key]: v } as Record<K, V>) : {});
  return {
    status: degraded.length === 0 ? 'ok' : 'degraded',
    ...some('degraded', degraded, degraded.length > 0),
    ...some('cameras', cameras, input.cameras.length > 0),
    ...some('kafka', input.connections, Object.keys(input.connections).length > 0),
    ...some('sinks', input.sinks, input.sinks.length > 0),
  };
}

/**
 * Each sink's backlog and recent drops, from instrumentation. Drops are kept per second for
 * `recentMs`, so the memory it holds is bounded by that window, not by the run's length.
 */
export class SinkBacklog {
  private readonly sinks = new Map<SinkName, { buffered: number; limit?: number; drops: Array<{ at: number; count: number }> }>();
  private readonly off: Array<() => void>;

  constructor(instrumentation: Instrumentation, private readonly opts: { recentMs?: number; now?: () => number } = {}) {
    this.off = [
      instrumentation.on('sink.buffered', (e) => {
        const s = this.entry(e.sink);
        s.buffered = e.depth;
        if (e.limit !== undefined) s.limit = e.limit;
      }),
      instrumentation.on('sink.dropped', (e) => {
        // Left at shutdown, or one slow WebSocket client closed: not a problem of the running service.
        if (e.reason === 'shutdown' || e.reason === 'slow_client') return;
        const drops = this.entry(e.sink).drops;
        const at = Math.floor(this.now() / 1000);
        const last = drops[drops.length - 1];
        if (last?.at === at) last.count += e.count;
        else drops.push({ at, count: e.count });
        this.prune(drops);
      }),
    ];
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private entry(sink: SinkName) {
    let s = this.sinks.get(sink);
    if (s === undefined) this.sinks.set(sink, (s = { buffered: 0, drops: [] }));
    return s;
  }

  private prune(drops: Array<{ at: number; count: number }>): void {
    const oldest = Math.floor((this.now() - (this.opts.recentMs ?? 60_000)) / 1000);
    while (drops.length > 0 && drops[0]!.at < oldest) drops.shift();
  }

  view(): SinkView[] {
    return [...this.sinks].map(([sink, s]) => {
      this.prune(s.drops);
      const droppedRecently = s.drops.reduce((a, d) => a + d.count, 0);
      return { sink, buffered: s.buffered, ...(s.limit === undefined ? {} : { limit: s.limit }), droppedRecently };
    });
  }

  close(): void {
    for (const off of this.off) off();
  }
}
