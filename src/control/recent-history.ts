/**
 * The dashboard's catch-up history (GET /events) in memory bounded per camera, not by time: a
 * 60-minute soak showed the former list of published messages (about 1 KiB of heap each, at one
 * window per camera per second) growing the heap by 12 MiB/h until its 2-hour bound.
 *
 * - Windows: a ring of `windowsPerCamera` fixed-size records in typed arrays, allocated at the
 *   camera's first window, so its memory is reached at once and never grows:
 *   windowRecordBytes(topk) = 34 + 12 × topk bytes per window (94 bytes at topk 5). Labels are
 *   interned (reference-counted), so a label costs its string once however many windows name it.
 *   The JSON is rebuilt on request with the fields of `windowMessage`, in its order.
 * - Events: only the newest message of each event (camera, label, eventStart), at most
 *   `eventsPerCamera` per camera (about 0.5 KiB each): the page keeps no more than that of an event.
 */
import type { OutputEvent } from '../sinks/events.js';
import { DETECTION_SCHEMA_VERSION, type WindowMessage } from '../detections/schema.js';

export interface HistoryLimits {
  readonly windowsPerCamera: number;
  readonly eventsPerCamera: number;
  /** Top labels per window (config `topk`): the size of a window record. */
  readonly topk: number;
}

export interface HistoryStats {
  readonly cameras: number;
  readonly windowSlots: number;
  readonly events: number;
  readonly labels: number;
}

/** Bytes of one window record: windowStart, windowEnd, latencyMs (f64), vocabularyVersion, frames (u32), a label count (u16), topk × (label id u32 + score f64). */
export function windowRecordBytes(topk: number): number {
  return 3 * 8 + 2 * 4 + 2 + topk * (4 + 8);
}

/** Interned labels, freed when no stored window names them any more (vocabularies change for weeks). */
class Labels {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly refs: number[] = [];
  private readonly free: number[] = [];

  acquire(label: string): number {
    let id = this.ids.get(label);
    if (id === undefined) {
      id = this.free.pop() ?? this.names.length;
      this.ids.set(label, id);
      this.names[id] = label;
      this.refs[id] = 0;
    }
    this.refs[id]!++;
    return id;
  }

  release(id: number): void {
    if (--this.refs[id]! > 0) return;
    this.ids.delete(this.names[id]!);
    this.names[id] = '';
    this.free.push(id);
  }

  name(id: number): string {
    return this.names[id]!;
  }

  get size(): number {
    return this.ids.size;
  }
}

/** One camera's windows, oldest overwritten first. */
class WindowRing {
  private readonly times: Float64Array; // windowStart, windowEnd, latencyMs per record
  private readonly ints: Uint32Array; // vocabularyVersion, frames per record
  private readonly topLabels: Uint32Array;
  private readonly topScores: Float64Array;
  private readonly topCount: Uint16Array;
  private next = 0;
  private size = 0;
  model = '';

  constructor(
    private readonly capacity: number,
    private readonly k: number,
    private readonly labels: Labels,
  ) {
    this.times = new Float64Array(capacity * 3);
    this.ints = new Uint32Array(capacity * 2);
    this.topLabels = new Uint32Array(capacity * k);
    this.topScores = new Float64Array(capacity * k);
    this.topCount = new Uint16Array(capacity);
  }

  push(m: WindowMessage): void {
    const i = this.next;
    if (this.size === this.capacity) for (let j = 0; j < this.topCount[i]!; j++) this.labels.release(this.topLabels[i * this.k + j]!);
    this.times.set([m.windowStart, m.windowEnd, m.latencyMs], i * 3);
    this.ints.set([m.vocabularyVersion, m.frames], i * 2);
    const n = Math.min(m.topk.length, this.k);
    for (let j = 0; j < n; j++) {
      this.topLabels[i * this.k + j] = this.labels.acquire(m.topk[j]!.label);
      this.topScores[i * this.k + j] = m.topk[j]!.score;
    }
    this.topCount[i] = n;
    this.model = m.model;
    this.next = (i + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** Windows ending after `from`, as [windowEnd, json] pairs, oldest first. */
  collect(camera: string, from: number, out: Array<[number, string]>): void {
    for (let n = 0; n < this.size; n++) {
      const i = (this.next - this.size + n + this.capacity) % this.capacity;
      const end = this.times[i * 3 + 1]!;
      if (end > from) out.push([end, this.json(camera, i)]);
    }
  }

  /** The message as `windowMessage` and `stampLatency` wrote it (same fields, same order). */
  private json(camera: string, i: number): string {
    const topk = Array.from({ length: this.topCount[i]! }, (_, j) => ({ label: this.labels.name(this.topLabels[i * this.k + j]!), score: this.topScores[i * this.k + j]! }));
    const top = topk[0] ?? { label: '', score: 0 };
    const [windowStart, windowEnd, latencyMs] = this.times.subarray(i * 3, i * 3 + 3);
    const m = { schema: DETECTION_SCHEMA_VERSION, type: 'window', camera, label: top.label, score: top.score, topk, windowStart, windowEnd, frames: this.ints[i * 2 + 1], vocabularyVersion: this.ints[i * 2], model: this.model, latencyMs };
    return JSON.stringify(m);
  }

  release(): void {
    for (let n = 0; n < this.size; n++) {
      const i = (this.next - this.size + n + this.capacity) % this.capacity;
      for (let j = 0; j < this.topCount[i]!; j++) this.labels.release(this.topLabels[i * this.k + j]!);
    }
    this.size = 0;
  }
}

interface CameraHistory {
  windows?: WindowRing;
  /** Newest message per event, least recently updated first (Map order: re-inserted on update). */
  readonly events: Map<string, { readonly ts: number; readonly json: string }>;
}

export class RecentHistory {
  private readonly cameras = new Map<string, CameraHistory>();
  private readonly labels = new Labels();

  constructor(private readonly limits: HistoryLimits) {}

  publish(event: OutputEvent): void {
    if (event.kind === 'camera') return;
    const cam = this.camera(event.camera);
    if (event.kind === 'window') {
      if (this.limits.windowsPerCamera === 0) return;
      cam.windows ??= new WindowRing(this.limits.windowsPerCamera, this.limits.topk, this.labels);
      cam.windows.push(JSON.parse(event.json) as WindowMessage);
      return;
    }
    if (this.limits.eventsPerCamera === 0) return;
    const m = JSON.parse(event.json) as { label: string; eventStart: number; windowEnd: number };
    const key = `${m.label}\u0000${m.eventStart}`;
    cam.events.delete(key);
    cam.events.set(key, { ts: m.windowEnd, json: event.json });
    if (cam.events.size > this.limits.eventsPerCamera) cam.events.delete(cam.events.keys().next().value!);
  }

  /** Entries (windows, and each event's newest message) ending after `from`, oldest first; at most `max`, the newest. */
  json(from: number, max: number): string {
    const out: Array<[number, string]> = [];
    for (const [camera, cam] of this.cameras) {
      cam.windows?.collect(camera, from, out);
      for (const e of cam.events.values()) if (e.ts > from) out.push([e.ts, e.json]);
    }
    out.sort((a, b) => a[0] - b[0]);
    return `[${out.slice(-max).map((e) => e[1]).join(',')}]`;
  }

  forget(camera: string): void {
    this.cameras.get(camera)?.windows?.release();
    this.cameras.delete(camera);
  }

  clear(): void {
    for (const camera of [...this.cameras.keys()]) this.forget(camera);
  }

  /** What is held: window records allocated, events and interned labels (memory follows these, not time). */
  stats(): HistoryStats {
    let windowSlots = 0;
    let events = 0;
    for (const c of this.cameras.values()) {
      windowSlots += c.windows === undefined ? 0 : this.limits.windowsPerCamera;
      events += c.events.size;
    }
    return { cameras: this.cameras.size, windowSlots, events, labels: this.labels.size };
  }

  private camera(id: string): CameraHistory {
    let c = this.cameras.get(id);
    if (c === undefined) {
      c = { events: new Map() };
      this.cameras.set(id, c);
    }
    return c;
  }
}
