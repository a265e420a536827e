import { defer, filter, type MonoTypeOperatorFunction } from 'rxjs';
import type { Detection } from '../detections/schema.js';

/**
 * Lets each camera-state message through once. After a retriable restart the flow subscribes
 * again to the replaying camera-state stream, which repeats every camera's current state: the
 * stages need that, subscribers already saw it. Placed after the retry, so its memory spans
 * restarts; a camera is forgotten once its `stopped` passes (a replay never repeats that).
 */
export function oncePerCameraState(): MonoTypeOperatorFunction<Detection> {
  return (source) =>
    defer(() => {
      const last = new Map<string, string>();
      return source.pipe(
        filter((m) => {
          if (m.type !== 'camera') return true;
          const { status, since, attempt } = m.state;
          const key = `${status} ${since} ${attempt}`;
          if (last.get(m.camera) === key) return false;
          if (status === 'stopped') last.delete(m.camera);
          else last.set(m.camera, key);
          return true;
        }),
      );
    });
}
