/**
 * The traffic of the soak benchmark besides the cameras themselves: publishers restarted on a
 * schedule, WebSocket clients that come and go (some never reading), vocabulary changes.
 * Everything runs on timers until stop(); failures are counted, not thrown, so a soak never ends
 * early because one helper hiccuped.
 */
import { WebSocket } from 'ws';
import { publishTestPattern, type Publisher, type RtspServer } from '../harness/rtsp-server.js';

export interface Stream {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
}

/** One publisher per camera path; restart(i) stops one and starts it again (the camera sees a stream end). */
export class Publishers {
  private readonly pubs: Array<Publisher | undefined> = [];
  restarts = 0;
  failures = 0;

  constructor(private readonly rtsp: RtspServer, private readonly stream: Stream) {}

  path(i: number): string {
    return `soak${i}`;
  }

  async start(count: number): Promise<void> {
    for (let i = 0; i < count; i++) this.pubs[i] = await publishTestPattern(this.rtsp.url(this.path(i)), this.stream);
  }

  async restart(i: number): Promise<void> {
    try {
      await this.pubs[i]?.stop();
      this.pubs[i] = undefined;
      this.pubs[i] = await publishTestPattern(this.rtsp.url(this.path(i)), this.stream);
      this.restarts++;
    } catch {
      this.failures++;
    }
  }

  pids(): Set<number> {
    return new Set(this.pubs.flatMap((p) => (p === undefined ? [] : [p.pid])));
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.pubs.map((p) => p?.stop().catch(() => undefined)));
  }
}

export interface ClientCounts {
  opened: number;
  closedByUs: number;
  /** Closed by the service (a slow client over its queue bound, code 1013). */
  closedByServer: number;
  errors: number;
  /** Windows received by the one client that stays connected and reads. */
  referenceWindows: number;
}

/** WebSocket clients of the hub: one reference reader for the whole run, plus short-lived ones. */
export class Clients {
  readonly counts: ClientCounts = { opened: 0, closedByUs: 0, closedByServer: 0, errors: 0, referenceWindows: 0 };
  private readonly open = new Set<WebSocket>();
  private reference?: WebSocket;

  constructor(private readonly url: string) {}

  startReference(): Promise<void> {
    const ws = this.connect(false);
    this.reference = ws;
    ws.on('message', (d) => {
      if ((JSON.parse(d.toString()) as { type?: string }).type === 'window') this.counts.referenceWindows++;
    });
    return new Promise((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  }

  /** A client for `lifetimeMs`; a slow one pauses its socket so the service's send buffer fills. */
  visit(lifetimeMs: number, slow: boolean): void {
    const ws = this.connect(slow);
    setTimeout(() => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        this.counts.closedByUs++;
        ws.terminate();
      }
    }, lifetimeMs).unref();
  }

  private connect(slow: boolean): WebSocket {
    const ws = new WebSocket(this.url);
    this.open.add(ws);
    this.counts.opened++;
    ws.on('open', () => {
      // ws exposes no pause(); the underlying socket stops reading, as a stuck consumer would.
      if (slow) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    });
    ws.on('error', () => this.counts.errors++);
    ws.on('close', (code) => {
      this.open.delete(ws);
      if (code === 1013) this.counts.closedByServer++;
    });
    return ws;
  }

  connected(): number {
    return this.open.size;
  }

  stopAll(): void {
    for (const ws of this.open) ws.terminate();
    this.reference = undefined;
  }
}

const LABEL_POOL = ['walking', 'running', 'jumping', 'waving', 'sitting down', 'standing up', 'clapping', 'falling', 'dancing', 'juggling balls', 'riding a bike', 'playing guitar'];

/**
 * The next vocabulary of a deterministic rotation through subsets of the pool, with one fresh label
 * every `freshEvery` changes so the text-embedding cache sees new entries, not only hits.
 */
export function vocabularyAt(i: number, freshEvery = 5): string[] {
  const n = 3 + (i % 4);
  const labels = Array.from({ length: n }, (_, k) => LABEL_POOL[(i * 5 + k * 3) % LABEL_POOL.length]);
  if (i % freshEvery === 0) labels.push(`action number ${i}`);
  return [...new Set(labels)];
}
