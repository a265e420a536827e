/**
 * What the page knows, built from /ws messages as they arrive: each camera's state, newest top
 * labels and open events, the events of the last hours for the timeline, and the windows behind
 * them for score curves. Kept in memory for this page only: history starts when the page opens.
 */
import type { CameraInfo, CameraStatus, DetectionMessage, EventMessage, LabelScore } from './messages.js';

export interface CameraView {
  readonly id: string;
  url?: string;
  status?: CameraStatus;
  topk: readonly LabelScore[];
  /** Capture time of the newest window's last frame. */
  lastWindowEnd?: number;
  vocabularyVersion?: number;
  /** Open events by label. */
  readonly open: Map<string, EventMessage>;
}

export interface TimelineEvent {
  readonly key: string;
  readonly camera: string;
  readonly label: string;
  readonly start: number;
  end?: number;
  /** The newest message of the event (its JSON is shown when opened). */
  last: EventMessage;
}

/** How far back the timeline and score curves reach. */
export const HISTORY_MS = 2 * 60 * 60 * 1000;

interface WindowPoint {
  readonly end: number;
  readonly topk: readonly LabelScore[];
}

export class LiveStore {
  readonly cameras = new Map<string, CameraView>();
  readonly events = new Map<string, TimelineEvent>();
  /** Cameras removed here or by the service: windows still in flight for them must not bring a tile back. */
  private readonly removed = new Set<string>();
  private readonly windows = new Map<string, WindowPoint[]>();
  /** The newest vocabulary version a window was scored with (the editor reloads when it grows). */
  vocabularyVersion = 0;
  /** Capture time of the newest window or event seen: where a reconnect's catch-up starts. */
  latest = 0;
  connected = false;
  private readonly listeners = new Set<() => void>();

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(): void {
    for (const fn of this.listeners) fn();
  }

  /** The camera list from GET /cameras: new ones added, gone ones dropped (cameras it never named, fed by Kafka, stay). */
  setCameras(list: readonly CameraInfo[]): void {
    const ids = new Set(list.map((c) => c.id));
    // Only cameras the list had named go when it stops naming them: a Kafka frames source is never in it.
    for (const [id, view] of [...this.cameras]) if (view.url !== undefined && !ids.has(id)) this.cameras.delete(id);
    for (const c of list) {
      this.removed.delete(c.id);
      const view = this.camera(c.id);
      view.url = c.url;
      view.status = c.state?.status ?? view.status;
    }
    this.changed();
  }

  removeCamera(id: string): void {
    this.removed.add(id);
    this.cameras.delete(id);
    this.changed();
  }

  private camera(id: string): CameraView {
    let view = this.cameras.get(id);
    if (view === undefined) {
      view = { id, topk: [], open: new Map() };
      this.cameras.set(id, view);
    }
    return view;
  }

  /** One /ws message; returns whether it named a camera the page did not know (the list is then re-read). */
  receive(m: DetectionMessage): boolean {
    const known = this.cameras.has(m.camera);
    const removal = m.type === 'camera' && m.state.status === 'stopped' && m.state.reason === 'removed';
    if (this.removed.has(m.camera)) {
      // Only a new start (the id added again) brings a removed camera back.
      if (m.type !== 'camera' || m.state.status === 'stopped') return false;
      this.removed.delete(m.camera);
    }
    if (m.type === 'camera') {
      // A removed camera says so once, with reason "removed": its tile goes.
      if (removal) this.removeCamera(m.camera);
      else this.camera(m.camera).status = m.state.status;
    } else if (m.type === 'window') {
      const list = this.windows.get(m.camera) ?? [];
      // Catch-up and live messages may overlap: a window not newer than the last one is a repeat.
      if (list.length > 0 && m.windowEnd <= list.at(-1)!.end) return false;
      const view = this.camera(m.camera);
      view.topk = m.topk;
      view.lastWindowEnd = m.windowEnd;
      view.vocabularyVersion = m.vocabularyVersion;
      this.vocabularyVersion = Math.max(this.vocabularyVersion, m.vocabularyVersion);
      list.push({ end: m.windowEnd, topk: m.topk });
      while (list.length > 0 && list[0]!.end < m.windowEnd - HISTORY_MS) list.shift();
      this.windows.set(m.camera, list);
    } else {
      this.onEvent(m);
    }
    if (m.type !== 'camera') this.latest = Math.max(this.latest, m.windowEnd);
    return !known && !removal;
  }

  private onEvent(m: EventMessage): void {
    const key = `${m.camera}|${m.label}|${m.eventStart}`;
    const ev = this.events.get(key) ?? { key, camera: m.camera, label: m.label, start: m.eventStart, last: m };
    ev.last = m;
    const view = this.camera(m.camera);
    if (m.type === 'end') {
      ev.end = m.windowEnd;
      view.open.delete(m.label);
    } else {
      view.open.set(m.label, m);
    }
    this.events.set(key, ev);
    for (const [k, e] of this.events) if ((e.end ?? Infinity) < Date.now() - HISTORY_MS) this.events.delete(k);
  }

  /** The event's score curve: its label's score in each window of its camera from its start to its end (or now). */
  curve(ev: TimelineEvent): { t: number[]; score: Array<number | null> } {
    const until = ev.end ?? Infinity;
    const points = (this.windows.get(ev.camera) ?? []).filter((w) => w.end >= ev.start && w.end <= until);
    return {
      t: points.map((p) => p.end / 1000),
      // A window where the label fell out of the top labels has no score for it: a gap, not a zero.
      score: points.map((p) => p.topk.find((s) => s.label === ev.label)?.score ?? null),
    };
  }
}

/** Events that overlap in time go in separate lanes of their camera's row (first free lane, by start). */
export function lanes(events: readonly TimelineEvent[], now: number): Array<[TimelineEvent, number]> {
  const ends: number[] = [];
  return [...events]
    .sort((a, b) => a.start - b.start)
    .map((ev) => {
      let lane = ends.findIndex((end) => end < ev.start);
      if (lane < 0) lane = ends.length;
      ends[lane] = ev.end ?? now;
      return [ev, lane];
    });
}
