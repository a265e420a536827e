/**
 * What an ingest process does with its camera set: one supervised source per camera (the
 * CameraRegistry the all-in-one pipeline uses), each opening a new frame session; frames to the
 * FramePublisher with the camera's state of the moment, states to the states topic.
 *
 * A `stopped` state reaches the states topic only when the camera was removed (a tombstone): a
 * camera whose partition went to another process, or that closes because this process stops, is
 * being opened elsewhere, and a late `stopped` from here must not overwrite that owner's state.
 *
 * Log lines other tools wait for: `camera <id> opened`, `camera <id> closed` (info).
 */
import type { Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { CameraConfig } from '../../config/schema.js';
import { CameraRegistry } from '../control/camera-registry.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import type { CameraEvent } from '../sources/frame-source.js';
import { redactUrl } from '../sources/redact.js';
import type { CameraState } from '../types.js';
import type { CameraChange } from './camera-set.js';
import type { FramePublisher } from './frame-publisher.js';

export interface IngestCamerasOptions {
  /** Opens one supervised camera (cameraFrames with the service's options). */
  readonly open: (camera: CameraConfig) => Observable<CameraEvent>;
  readonly publisher: Pick<FramePublisher, 'openSession' | 'endSession' | 'publish'>;
  /** Camera states for the states topic. */
  readonly states: (state: CameraState) => void;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
}

export class IngestCameras {
  private readonly registry: CameraRegistry;
  /** The camera being removed for a tombstone: its `stopped` state is published. */
  private removing: string | undefined;
  private halted = false;

  constructor(private readonly opts: IngestCamerasOptions) {
    this.registry = new CameraRegistry({
      open: opts.open,
      frames: { next: (f) => void opts.publisher.publish(f, this.registry.info(f.camera)?.state?.status ?? 'connecting'), error: () => undefined, complete: () => undefined },
      states: { next: (s) => (s.status !== 'stopped' || s.camera === this.removing ? opts.states(s) : undefined) },
      instrumentation: opts.instrumentation,
      logger: opts.logger,
    });
  }

  /** Ids of the cameras open now. */
  ids(): string[] {
    return this.registry.list().map((c) => c.id);
  }

  apply(change: CameraChange): void {
    if (this.halted) return;
    if (change.kind === 'close') return this.close(change.id, change.reason);
    if (change.kind === 'replace') this.close(change.camera.id, 'replaced');
    this.openCamera(change.camera);
  }

  private openCamera(camera: CameraConfig): void {
    const session = this.opts.publisher.openSession(camera.id);
    try {
      this.registry.add(camera);
    } catch (err) {
      // A record the gateway would have refused (a scheme this build cannot open): logged, not fatal.
      this.opts.publisher.endSession(camera.id);
      this.opts.instrumentation?.emit('source.malformed', { reason: 'camera-record' });
      this.opts.logger?.warn({ camera: camera.id, error: (err as Error).message }, `camera ${camera.id} cannot be opened`);
      return;
    }
    this.opts.logger?.info({ camera: camera.id, session, url: redactUrl(camera.detectUrl ?? camera.url) }, `camera ${camera.id} opened`);
  }

  private close(id: string, reason: string): void {
    if (this.registry.info(id) === undefined) return;
    this.removing = reason === 'removed' ? id : undefined;
    try {
      this.registry.remove(id);
    } finally {
      this.removing = undefined;
    }
    this.opts.publisher.endSession(id);
    this.opts.logger?.info({ camera: id, reason }, `camera ${id} closed`);
  }

  /** Closes every camera (shutdown) and takes no more changes. */
  closeAll(): void {
    for (const id of this.ids()) this.close(id, 'shutdown');
    this.halted = true;
  }
}
