import type { Observable, Observer, Subscription } from 'rxjs';
import type { Logger } from 'pino';
import type { CameraConfig } from '../../config/schema.js';
import { ConflictError } from '../errors.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { isCameraState, type CameraEvent } from '../sources/frame-source.js';
import { redactUrl } from '../sources/redact.js';
import type { CameraState, Frame } from '../types.js';

/** What the registry knows of a camera, as the API shows it. */
export interface CameraInfo {
  readonly id: string;
  /** Redacted. */
  readonly url: string;
  /** Redacted; the stream detection reads when it is not `url`. */
  readonly detectUrl?: string;
  readonly state?: CameraState;
}

export interface CameraRegistryOptions {
  /** Opens a supervised source for one camera; unsubscribing closes it (kills ffmpeg). */
  readonly open: (camera: CameraConfig) => Observable<CameraEvent>;
  /** Where every camera's frames go (the pipeline's input). */
  readonly frames: Observer<Frame>;
  /** Where every camera's state changes go (the pipeline's camera-state stream). */
  readonly states: Pick<Observer<CameraState>, 'next'>;
  /** Called after a camera is added and before it is removed (the preview relay follows the set). */
  readonly onAdded?: (camera: CameraConfig) => void;
  readonly onRemoved?: (id: string) => void;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
  readonly now?: () => number;
}

interface Entry {
  readonly config: CameraConfig;
  sub?: Subscription;
  state?: CameraState;
}

/**
 * The set of cameras this process watches: one supervised source per camera, its frames into the
 * pipeline, its states into the camera-state stream and instrumentation. Called by the HTTP API,
 * the configuration at start-up and (later) the Kafka cameras topic alike.
 */
export class CameraRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: CameraRegistryOptions) {}

  list(): CameraInfo[] {
    return [...this.entries.keys()].map((id) => this.info(id)!);
  }

  info(id: string): CameraInfo | undefined {
    const e = this.entries.get(id);
    if (e === undefined) return undefined;
    const { url, detectUrl } = e.config;
    return { id, url: redactUrl(url), ...(detectUrl === undefined ? {} : { detectUrl: redactUrl(detectUrl) }), ...(e.state === undefined ? {} : { state: e.state }) };
  }

  /** Current states of every camera that has reported one. */
  states(): CameraState[] {
    return [...this.entries.values()].flatMap((e) => (e.state === undefined ? [] : [e.state]));
  }

  /** @throws ConflictError when the id is taken; ConfigError when its URL cannot be opened (nothing is added). */
  add(camera: CameraConfig): CameraInfo {
    if (this.entries.has(camera.id)) throw new ConflictError(`camera "${camera.id}" already exists`);
    const { opts } = this;
    const source = opts.open(camera);
    // The entry exists before subscribing: a source may report its first state synchronously.
    const entry: Entry = { config: camera };
    this.entries.set(camera.id, entry);
    entry.sub = source.subscribe({
      next: (ev) => (isCameraState(ev) ? this.onState(entry, ev) : this.onFrame(ev)),
      error: (err: unknown) => opts.logger?.error({ err, camera: camera.id }, 'camera source failed'),
    });
    opts.onAdded?.(camera);
    opts.logger?.info({ camera: camera.id, url: redactUrl(camera.url) }, 'camera added');
    return this.info(camera.id)!;
  }

  /** Stops the camera's source; downstream stages learn of it through a `stopped` state. */
  remove(id: string): boolean {
    const e = this.entries.get(id);
    if (e === undefined) return false;
    e.sub?.unsubscribe();
    this.opts.onRemoved?.(id);
    this.entries.delete(id);
    const stopped: CameraState = { camera: id, status: 'stopped', since: (this.opts.now ?? Date.now)(), attempt: 0, reason: 'removed' };
    this.opts.states.next(stopped);
    this.opts.instrumentation?.emit('camera.removed', { camera: id });
    this.opts.logger?.info({ camera: id }, 'camera removed');
    return true;
  }

  /** Stops every camera's source but keeps the cameras (shutdown): frames already captured stay in the pipeline and finish their windows. */
  halt(): void {
    for (const e of this.entries.values()) {
      e.sub?.unsubscribe();
      e.sub = undefined;
    }
  }

  /** Removes every camera. */
  close(): void {
    for (const id of [...this.entries.keys()]) this.remove(id);
  }

  private onFrame(frame: Frame): void {
    this.opts.instrumentation?.emit('source.frame', { camera: frame.camera, source: 'camera', captureTs: frame.captureTs });
    this.opts.frames.next(frame);
  }

  private onState(entry: Entry, state: CameraState): void {
    entry.state = state;
    this.opts.instrumentation?.emit('camera.state', state);
    this.opts.states.next(state);
  }
}
