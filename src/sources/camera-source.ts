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

/**
 * Detection reads the camera's `detectUrl` (a low-resolution substream) when it has one, with the
 * camera's own decode tuning over the service's.
 * @throws ConfigError for an unsupported scheme or a malformed URL, before anything starts.
 */
export function cameraFrames(camera: CameraConfig, opts: CameraSourceOptions): Observable<CameraEvent> {
  const tuning = { ...opts.tuning, ...camera.decode };
  return supervise(camera.id, openFrameSource(camera.detectUrl ?? camera.url, { ...opts, tuning }), opts);
}
