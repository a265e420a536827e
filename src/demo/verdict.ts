/**
 * Whether the demo's detections are right: every camera has at least one detection and every
 * detection (start, update, end) names the class its clips show. Window top-1s are counted too,
 * as context for the reader; the events are what a user of the service acts on.
 */
import type { DetectionMessage } from '../detections/schema.js';
import type { DemoCamera } from './camera-clips.js';

export interface CameraVerdict {
  readonly camera: string;
  readonly expected: string;
  readonly detections: number;
  /** Labels of detections that were not the expected class. */
  readonly wrong: readonly string[];
  readonly windows: number;
  readonly windowsRight: number;
  readonly ok: boolean;
}

export function judgeCameras(messages: readonly DetectionMessage[], cameras: readonly DemoCamera[]): CameraVerdict[] {
  return cameras.map((c) => {
    const mine = messages.filter((m) => m.camera === c.id);
    const events = mine.filter((m) => m.type === 'start' || m.type === 'update' || m.type === 'end');
    const windows = mine.filter((m) => m.type === 'window');
    const wrong = events.filter((m) => m.label !== c.expected).map((m) => m.label);
    return {
      camera: c.id,
      expected: c.expected,
      detections: events.length,
      wrong,
      windows: windows.length,
      windowsRight: windows.filter((m) => m.label === c.expected).length,
      ok: events.length > 0 && wrong.length === 0,
    };
  });
}

/** One line per camera: what it showed, what the service said. */
export function formatVerdict(v: CameraVerdict): string {
  const windows = `${v.windowsRight}/${v.windows} windows top-1 ${v.expected}`;
  if (v.detections === 0) return `${v.camera}: expected ${v.expected}, got no detection (${windows})`;
  if (v.wrong.length > 0) {
    const counts = new Map<string, number>();
    for (const l of v.wrong) counts.set(l, (counts.get(l) ?? 0) + 1);
    const got = [...counts].map(([l, n]) => `${l} ×${n}`).join(', ');
    return `${v.camera}: expected ${v.expected}, got ${got} in ${v.wrong.length} of ${v.detections} detections (${windows})`;
  }
  return `${v.camera}: ${v.expected}, right in all ${v.detections} detections (${windows})`;
}
