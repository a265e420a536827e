import path from 'node:path';
import type { CameraState, WindowResult } from '../types.js';
import { DETECTION_SCHEMA_VERSION, type CameraMessage, type Unstamped, type WindowMessage } from './schema.js';

/** The `window` message of a scored window (top-1 as label/score). */
export function windowMessage(result: WindowResult, model: string): Unstamped<WindowMessage> {
  const top = result.topk[0] ?? { label: '', score: 0 };
  return {
    schema: DETECTION_SCHEMA_VERSION,
    type: 'window',
    camera: result.camera,
    label: top.label,
    score: top.score,
    topk: result.topk.map((t) => ({ label: t.label, score: t.score })),
    windowStart: result.windowStart,
    windowEnd: result.windowEnd,
    frames: result.frames,
    vocabularyVersion: result.vocabularyVersion,
    model,
  };
}

/** The `camera` message of a camera state. */
export function cameraMessage(state: CameraState): Unstamped<CameraMessage> {
  const { camera, status, since, attempt, reason } = state;
  return { schema: DETECTION_SCHEMA_VERSION, type: 'camera', camera, state: reason === undefined ? { camera, status, since, attempt } : { camera, status, since, attempt, reason } };
}

/** The `model` of window messages: the weights file's name without extension, and the temporal head ("vit-b-32+meanP"). */
export function modelLabel(weights: string, head: string): string {
  return `${path.basename(weights).replace(/\.[^.]+$/, '')}+${head}`;
}
