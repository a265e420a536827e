import { stampLatency, type Detection, type DetectionMessage } from '../detections/schema.js';
import { cameraMessage } from '../detections/messages.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import type { CameraState } from '../types.js';
import type { OutputEvent, Sink } from './events.js';

/** A detection message to the shared output event: serialised once for every sink and client. */
export function toOutputEvent(msg: DetectionMessage): OutputEvent {
  if (msg.type === 'camera') return { kind: 'camera', camera: msg.camera, labels: [], json: JSON.stringify(msg) };
  return {
    kind: msg.type,
    camera: msg.camera,
    labels: msg.type === 'window' ? msg.topk.map((t) => t.label) : [msg.label],
    score: msg.score,
    captureTs: msg.windowEnd,
    ...(msg.type === 'window' ? { windowStart: msg.windowStart } : {}),
    json: JSON.stringify(msg),
  };
}

/** A camera state as the output event subscribers get. */
export function cameraStateEvent(state: CameraState, now: number = Date.now()): OutputEvent {
  return toOutputEvent(stampLatency<DetectionMessage>(cameraMessage(state), now));
}

/**
 * The end of the pipeline: stamps each detection with its latency, reports it, serialises it once
 * and hands the same event to every sink. Sinks never block or throw (see `Sink`).
 */
export function fanOut(sinks: readonly Sink[], options: { instrumentation?: Instrumentation; now?: () => number } = {}): (d: Detection) => void {
  const now = options.now ?? Date.now;
  return (d) => {
    const msg: DetectionMessage = stampLatency<DetectionMessage>(d, now());
    options.instrumentation?.emit('output.published', { kind: msg.type, ...(msg.type === 'camera' ? {} : { latencyMs: msg.latencyMs }) });
    const ev = toOutputEvent(msg);
    for (const s of sinks) s.publish(ev);
  };
}
