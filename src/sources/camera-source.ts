/**
 * One camera: the source its URL's scheme names (`registry.ts`), wrapped in supervision
 * (`supervise.ts`). Unsubscribing closes it.
 */
import type { Observable } from 'rxjs';
import type { CameraConfig } from '../../config/schema.js';
import type { CameraEvent } from './frame-source.js';
import { openFrameSource, type SourceOptions } from './registry.js';
import { supervise, type SupervisionOptions } from './supervise.js';

export type CameraSourceOptions = SourceOptions & SupervisionOptions;

/** @throws ConfigError for an unsupported scheme or a malformed URL, before anything starts. */
export function cameraFrames(camera: CameraConfig, opts: CameraSourceOptions): Observable<CameraEvent> {
  return supervise(camera.id, openFrameSource(camera.url, opts), opts);
}
