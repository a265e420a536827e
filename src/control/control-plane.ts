import type { Logger } from 'pino';
import type { CameraConfig, VocabularyUpdate } from '../../config/schema.js';
import { ConfigError, NotFoundError, NotReadyError } from '../errors.js';
import { checkCameraUrl, type CameraUrlPolicy, type Resolve } from '../security/url-policy.js';
import type { VocabularyStore, VocabularyVersion } from './vocabulary-store.js';
import type { DraftScore, LiveView, Snapshot } from './live-view.js';
import type { ConnectionStatus, Instrumentation, KafkaComponent } from '../instrumentation/instrumentation.js';
import type { CameraInfo, CameraRegistry } from './camera-registry.js';
import { SinkBacklog, type SinkView } from './health.js';

export interface PreviewInfo {
  readonly camera: string;
  /** Connect a JSMpeg player to this WebSocket port on the service host. */
  readonly wsPort: number;
}

export interface Readiness {
  readonly model: boolean;
  readonly vocabulary: boolean;
  /** Set once the pipeline stopped on a fatal error: the service will not become ready again. */
  readonly error?: string;
  /** Set once a graceful shutdown began: a load balancer should stop sending. */
  readonly stopping?: boolean;
}

/** One Kafka client's connection as /health shows it. */
export interface ConnectionView {
  readonly status: ConnectionStatus;
  /** When it entered this status (ISO 8601). */
  readonly since: string;
  /** Why it is not connected (the last error, redacted). */
  readonly error?: string;
}

export interface VocabularyView {
  readonly version: number;
  readonly labels: readonly string[];
  readonly templates: readonly string[];
}

/**
 * What the HTTP API, WebSocket control messages and the Kafka control topic drive. Implemented by
 * `LiveControlPlane`; tests use a double.
 */
export interface ControlPlane {
  readiness(): Readiness;
  cameras(): CameraInfo[];
  /** @throws ConflictError when the id is taken; UrlPolicyError when the URL policy refuses it; ConfigError at the camera cap. */
  addCamera(camera: CameraConfig): CameraInfo | Promise<CameraInfo>;
  /** Resolves false when there is no such camera. */
  removeCamera(id: string): boolean | Promise<boolean>;
  vocabulary(): VocabularyView | undefined;
  /** Resolves with the new version once active; rejects with ConfigError on a bad vocabulary. */
  updateVocabulary(update: VocabularyUpdate): Promise<number>;
  /** Live preview relay (node-rtsp-stream), when enabled. @throws NotFoundError */
  preview?(id: string): PreviewInfo;
  /** The Kafka clients' connection states, by component (empty without Kafka). */
  connections?(): Partial<Record<KafkaComponent, ConnectionView>>;
  /** The camera's newest frame as a JPEG; undefined before its first frame (or for a camera not watched, e.g. one just removed). */
  snapshot?(id: string): Promise<Snapshot | undefined>;
  /** The versions applied so far, oldest first. */
  vocabularyHistory?(): readonly VocabularyVersion[];
  /** Recent windows and events captured after `since` (epoch ms), oldest first, as a JSON array. */
  recentEvents?(since: number): string;
  /** Each camera's newest window scored against a draft vocabulary; nothing is applied. @throws ConfigError on a bad draft */
  tryVocabulary?(update: VocabularyUpdate): Promise<DraftResult>;
  /** Each sink's backlog and recent drops, for /health. */
  sinks?(): SinkView[];
}

/** What `tryVocabulary` answers: the draft as it would be applied, and each camera's scores under it. */
export interface DraftResult {
  readonly labels: readonly string[];
  readonly templates: readonly string[];
  readonly cameras: readonly DraftScore[];
}

export interface LiveControlPlaneOptions {
  readonly cameras: CameraRegistry;
  readonly preview?: { info(id: string): PreviewInfo | undefined };
  /** What cameras added at runtime may point at (cameras from the configuration are the operator's own). */
  readonly urlPolicy?: CameraUrlPolicy;
  /** Most cameras this process watches. */
  readonly maxCameras?: number;
  /** Newest frame and window per camera (snapshots, draft scoring); absent: neither is offered. */
  readonly view?: LiveView;
  /** Host name lookups for the URL policy (default: the system resolver). */
  readonly resolve?: Resolve;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
}

/** What a camera added at runtime must pass, wherever it is added: the camera cap, then the URL policy. @throws ConfigError, UrlPolicyError */
export async function checkNewCamera(camera: CameraConfig, count: number, opts: Pick<LiveControlPlaneOptions, 'maxCameras' | 'urlPolicy' | 'resolve'>): Promise<void> {
  const { maxCameras, urlPolicy } = opts;
  if (maxCameras !== undefined && count >= maxCameras) throw new ConfigError(`at most ${maxCameras} cameras (security.limits.maxCameras)`);
  if (urlPolicy === undefined) return;
  for (const url of [camera.url, camera.detectUrl]) if (url !== undefined) await checkCameraUrl(url, urlPolicy, opts.resolve);
}

/** Each Kafka client's connection as /health shows it, from `kafka.connection` events. */
export class KafkaLinks {
  private readonly links = new Map<KafkaComponent, ConnectionView>();

  constructor(instrumentation: Instrumentation | undefined) {
    instrumentation?.on('kafka.connection', (e) => {
      const prev = this.links.get(e.component);
      const since = prev?.status === e.status ? prev.since : new Date().toISOString();
      this.links.set(e.component, { status: e.status, since, ...(e.error === undefined ? {} : { error: e.error }) });
    });
  }

  view(): Partial<Record<KafkaComponent, ConnectionView>> {
    return Object.fromEntries(this.links);
  }
}

/**
 * The control plane of one live process: the camera registry and, once the model is loaded, the
 * vocabulary store. Every way in (HTTP, WebSocket, Kafka) calls these same methods, so a change is
 * validated, applied and logged in one place.
 */
export class LiveControlPlane implements ControlPlane {
  private store: VocabularyStore | undefined;
  private modelReady = false;
  private fatal: string | undefined;
  private stopping = false;
  private markFailed!: (err: Error) => void;
  /** Resolves with the error that stopped the pipeline for good; never otherwise. */
  readonly failed = new Promise<Error>((resolve) => (this.markFailed = resolve));
  readonly preview?: (id: string) => PreviewInfo;
  private readonly links: KafkaLinks;
  private readonly backlog?: SinkBacklog;

  constructor(private readonly opts: LiveControlPlaneOptions) {
    if (opts.instrumentation !== undefined) this.backlog = new SinkBacklog(opts.instrumentation);
    this.links = new KafkaLinks(opts.instrumentation);
    const relay = opts.preview;
    if (relay !== undefined) {
      this.preview = (id) => {
        const p = relay.info(id);
        if (p === undefined) throw new NotFoundError(`no preview for camera "${id}"`);
        return p;
      };
    }
  }

  /** The model is loaded and its first vocabulary encoded: the service can answer. */
  attach(store: VocabularyStore): void {
    this.modelReady = true;
    this.store = store;
    this.opts.instrumentation?.emit('vocabulary.changed', { version: store.current.version, labels: store.current.labels.length });
  }

  /** The pipeline stopped on a fatal error: logged once, readiness turns false and stays so. */
  fail(err: Error): void {
    if (this.fatal !== undefined) return;
    this.fatal = err.message;
    this.opts.logger?.fatal({ err }, `pipeline stopped on a fatal error: ${err.message}`);
    this.markFailed(err);
  }

  /** Shutdown's first step: /ready turns 503 and camera and vocabulary changes are refused. */
  beginShutdown(): void {
    this.stopping = true;
  }

  readiness(): Readiness {
    const ok = this.fatal === undefined && !this.stopping;
    return { model: ok && this.modelReady, vocabulary: ok && this.store !== undefined, ...(this.fatal === undefined ? {} : { error: this.fatal }), ...(this.stopping ? { stopping: true } : {}) };
  }

  private refuseWhileStopping(): void {
    if (this.stopping) throw new NotReadyError('the service is shutting down');
  }

  connections(): Partial<Record<KafkaComponent, ConnectionView>> {
    return this.links.view();
  }

  sinks(): SinkView[] {
    return this.backlog?.view() ?? [];
  }

  cameras(): CameraInfo[] {
    return this.opts.cameras.list();
  }

  async addCamera(camera: CameraConfig): Promise<CameraInfo> {
    this.refuseWhileStopping();
    await checkNewCamera(camera, this.opts.cameras.list().length, this.opts);
    return this.opts.cameras.add(camera);
  }

  removeCamera(id: string): boolean {
    this.refuseWhileStopping();
    return this.opts.cameras.remove(id);
  }

  vocabulary(): VocabularyView | undefined {
    const v = this.store?.current;
    return v === undefined ? undefined : { version: v.version, labels: v.labels, templates: v.templates };
  }

  async snapshot(id: string): Promise<Snapshot | undefined> {
    return this.opts.view?.snapshot(id);
  }

  recentEvents(since: number): string {
    return this.opts.view?.recentJson(since) ?? '[]';
  }

  vocabularyHistory(): readonly VocabularyVersion[] {
    return this.store?.history() ?? [];
  }

  async tryVocabulary(update: VocabularyUpdate): Promise<DraftResult> {
    if (this.store === undefined) throw new NotReadyError('the model is still loading: try again when /ready says so');
    const draft = await this.store.draft(update);
    return { labels: draft.labels, templates: draft.templates, cameras: this.opts.view?.score(draft) ?? [] };
  }

  async updateVocabulary(update: VocabularyUpdate): Promise<number> {
    this.refuseWhileStopping();
    if (this.store === undefined) throw new NotReadyError('the model is still loading: try again when /ready says so');
    const v = await this.store.update(update);
    this.opts.instrumentation?.emit('vocabulary.changed', { version: v.version, labels: v.labels.length });
    this.opts.logger?.info({ version: v.version, labels: v.labels.length }, 'vocabulary changed');
    return v.version;
  }
}
