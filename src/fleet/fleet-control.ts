/**
 * The control plane of a fleet's gateway (docs/scale-out.md). The same HTTP API and WebSocket
 * control messages as `run`, but nothing is applied here: a camera added or removed is a record or
 * a tombstone on the cameras topic (ingest processes open it), a vocabulary change a new version on
 * the vocabulary topic (infer processes encode it). What the gateway shows comes back from the
 * compacted topics it reads (cameras, camera states, vocabulary), so every gateway shows the same.
 *
 * Methods that need a model or frames (draft scoring, snapshots, previews) are answered as not
 * available on a gateway.
 */
import type { Logger } from 'pino';
import type { CameraConfig, VocabularyUpdate } from '../../config/schema.js';
import type { FleetTopics } from '../../config/schema-fleet.js';
import { checkNewCamera, KafkaLinks, type ConnectionView, type ControlPlane, type DraftResult, type Readiness, type VocabularyView } from '../control/control-plane.js';
import type { CameraInfo } from '../control/camera-registry.js';
import { SinkBacklog, type SinkView } from '../control/health.js';
import type { LiveView, Snapshot } from '../control/live-view.js';
import type { VocabularyVersion } from '../control/vocabulary-store.js';
import { CameraMessageSchema, type CameraMessage } from '../detections/schema.js';
import { ConfigError, ConflictError, formatIssues, NotFoundError, NotReadyError } from '../errors.js';
import type { Instrumentation, KafkaComponent } from '../instrumentation/instrumentation.js';
import { ACTIONCLIP_TEMPLATES } from '../model/prompts.js';
import type { CameraUrlPolicy, Resolve } from '../security/url-policy.js';
import type { OutputEvent } from '../sinks/events.js';
import { cameraStateEvent } from '../sinks/fan-out.js';
import { redactUrl } from '../sources/redact.js';
import type { CameraState } from '../types.js';
import { invalidRecord, parseJsonRecord, type RecordPlace } from './compacted-reader.js';
import type { RecordWriter } from './fleet-writer.js';
import { CameraRecordSchema, VOCABULARY_KEY, VocabularyRecordSchema, type VocabularyRecord } from './records.js';

/** What must have been read before the gateway answers: the three tables and the detections consumer. */
export type FleetPart = 'cameras' | 'states' | 'vocabulary' | 'detections';

export interface FleetControlPlaneOptions {
  readonly writer: RecordWriter;
  readonly topics: Pick<FleetTopics, 'cameras' | 'vocabulary'>;
  readonly urlPolicy?: CameraUrlPolicy;
  readonly maxCameras?: number;
  readonly resolve?: Resolve;
  /** The configured vocabulary: what infer processes score with (as version 0) while the topic is empty. */
  readonly initialVocabulary?: { readonly labels: readonly string[]; readonly templates?: readonly string[] };
  /** Recent windows and events relayed by this gateway (for /events). */
  readonly view?: Pick<LiveView, 'recentJson'>;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
  readonly now?: () => number;
}

const NOT_HERE = 'not available on a gateway: it needs the model and the frames, which only infer and ingest processes have';

export class FleetControlPlane implements ControlPlane {
  private readonly cameraTable = new Map<string, CameraConfig>();
  private readonly stateTable = new Map<string, CameraState>();
  private readonly adding = new Set<string>();
  private current: { readonly record: VocabularyRecord; readonly offset: bigint } | undefined;
  private readonly past: VocabularyVersion[] = [];
  private readonly caughtUp = new Set<FleetPart>();
  private vocabularyWrites: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private readonly links: KafkaLinks;
  private readonly backlog?: SinkBacklog;

  constructor(private readonly opts: FleetControlPlaneOptions) {
    this.links = new KafkaLinks(opts.instrumentation);
    if (opts.instrumentation !== undefined) this.backlog = new SinkBacklog(opts.instrumentation);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** One part is read up to where the topic was at start (or the consumer joined). */
  markCaughtUp(part: FleetPart): void {
    this.caughtUp.add(part);
  }

  beginShutdown(): void {
    this.stopping = true;
  }

  /** Ready (both flags) once every table is read up to its start watermark and detections are followed. */
  readiness(): Readiness {
    const ok = !this.stopping;
    const tables = this.caughtUp.has('cameras') && this.caughtUp.has('states') && this.caughtUp.has('detections');
    return { model: ok && tables, vocabulary: ok && this.caughtUp.has('vocabulary'), ...(this.stopping ? { stopping: true } : {}) };
  }

  private invalid(role: keyof FleetTopics, at: RecordPlace, key: string | undefined, why: string): void {
    invalidRecord({ role, instrumentation: this.opts.instrumentation }, this.opts.logger, at, key, why);
  }

  private require(part: FleetPart, action: string): void {
    if (this.stopping) throw new NotReadyError('the gateway is shutting down');
    if (!this.caughtUp.has(part)) throw new NotReadyError(`the ${part} topic is still being read, so ${action} could not be checked: try again when /ready says so`);
  }

  connections(): Partial<Record<KafkaComponent, ConnectionView>> {
    return this.links.view();
  }

  sinks(): SinkView[] {
    return this.backlog?.view() ?? [];
  }

  // ---- cameras ----------------------------------------------------------------------------------

  private info(c: CameraConfig): CameraInfo {
    const state = this.stateTable.get(c.id);
    return { id: c.id, url: redactUrl(c.url), ...(c.detectUrl === undefined ? {} : { detectUrl: redactUrl(c.detectUrl) }), ...(state === undefined ? {} : { state }) };
  }

  cameras(): CameraInfo[] {
    return [...this.cameraTable.values()].map((c) => this.info(c));
  }

  /** What a new WebSocket subscriber is sent first: the state of every camera of the fleet. */
  greeting(): OutputEvent[] {
    return [...this.cameraTable.keys()].flatMap((id) => {
      const s = this.stateTable.get(id);
      return s === undefined ? [] : [cameraStateEvent(s, this.now())];
    });
  }

  /** Validated as `run` validates it (cap, URL policy, schema), then written to the cameras topic. */
  async addCamera(camera: CameraConfig): Promise<CameraInfo> {
    this.require('cameras', 'the camera id');
    const r = CameraRecordSchema.safeParse(camera);
    if (!r.success) throw new ConfigError(`invalid camera: ${formatIssues(r.error, { root: 'camera', indices: 'dots' })}`);
    const id = r.data.id;
    if (this.cameraTable.has(id) || this.adding.has(id)) throw new ConflictError(`camera "${id}" already exists`);
    this.adding.add(id);
    try {
      await checkNewCamera(r.data, this.cameraTable.size + this.adding.size - 1, this.opts);
      await this.opts.writer.write(this.opts.topics.cameras, id, JSON.stringify(r.data));
    } finally {
      this.adding.delete(id);
    }
    // Shown at once; the record read back later says the same.
    this.cameraTable.set(id, r.data);
    this.opts.logger?.info({ camera: id, url: redactUrl(r.data.url) }, 'camera added to the fleet');
    return this.info(r.data);
  }

  /** A tombstone on the cameras topic; false when the fleet has no such camera. */
  async removeCamera(id: string): Promise<boolean> {
    this.require('cameras', 'the camera id');
    if (!this.cameraTable.has(id)) return false;
    await this.opts.writer.write(this.opts.topics.cameras, id, null);
    this.forgetCamera(id);
    this.opts.logger?.info({ camera: id }, 'camera removed from the fleet');
    return true;
  }

  private forgetCamera(id: string): void {
    if (!this.cameraTable.delete(id)) return;
    this.opts.instrumentation?.emit('camera.removed', { camera: id });
  }

  /** A record of the cameras topic (latest per key wins; null = removed). */
  applyCameraRecord(key: string | undefined, value: Buffer | null, at: RecordPlace): void {
    if (key === undefined) return this.invalid('cameras', at, key, 'no key (the camera id)');
    if (value === null) return this.forgetCamera(key);
    const r = parseJsonRecord(CameraRecordSchema, value);
    if (!r.ok) return this.invalid('cameras', at, key, r.error);
    if (r.value.id !== key) return this.invalid('cameras', at, key, `the key is not the camera's id "${r.value.id}"`);
    this.cameraTable.set(key, r.value);
  }

  /** A record of the camera-states topic; the message to relay when it is a valid new state. */
  applyStateRecord(key: string | undefined, value: Buffer | null, at: RecordPlace): CameraMessage | undefined {
    if (value === null) {
      if (key !== undefined) this.stateTable.delete(key);
      return undefined;
    }
    const r = parseJsonRecord(CameraMessageSchema, value);
    if (!r.ok) return void this.invalid('states', at, key, r.error);
    const s = r.value.state;
    const prev = this.stateTable.get(s.camera);
    this.stateTable.set(s.camera, s);
    // Metrics per camera, once per state: a re-read of the topic repeats states already counted.
    if (prev?.since !== s.since || prev.status !== s.status) this.opts.instrumentation?.emit('camera.state', s);
    return r.value;
  }

  // ---- vocabulary -------------------------------------------------------------------------------

  vocabulary(): VocabularyView | undefined {
    const v = this.current?.record ?? (this.opts.initialVocabulary === undefined ? undefined : { version: 0, ...this.opts.initialVocabulary });
    // A record without templates means the model's defaults: ActionCLIP's unless the model brings its own.
    return v === undefined ? undefined : { version: v.version, labels: v.labels, templates: v.templates ?? ACTIONCLIP_TEMPLATES };
  }

  vocabularyHistory(): readonly VocabularyVersion[] {
    return this.past;
  }

  /** The record at the highest offset known (read back or acknowledged) is the current one. */
  private takeVocabulary(record: VocabularyRecord, offset: bigint): void {
    if (this.current !== undefined && offset <= this.current.offset) return;
    this.current = { record, offset };
    this.past.push({ version: record.version, labels: record.labels, templates: record.templates ?? ACTIONCLIP_TEMPLATES, createdAt: record.writtenAt });
    this.opts.instrumentation?.emit('vocabulary.changed', { version: record.version, labels: record.labels.length });
  }

  applyVocabularyRecord(key: string | undefined, value: Buffer | null, at: RecordPlace): void {
    const invalid = (why: string) => this.invalid('vocabulary', at, key, why);
    if (key !== VOCABULARY_KEY) return invalid(`the key is not "${VOCABULARY_KEY}"`);
    if (value === null) return invalid('a tombstone (the vocabulary is never deleted)');
    const r = parseJsonRecord(VocabularyRecordSchema, value);
    if (!r.ok) return invalid(r.error);
    this.takeVocabulary(r.value, BigInt(at.offset));
  }

  /** Writes version current + 1 (one write at a time); resolves with it once the broker acknowledged it. */
  updateVocabulary(update: VocabularyUpdate): Promise<number> {
    this.require('vocabulary', 'the current version');
    const run = this.vocabularyWrites.then(() => this.writeVocabulary(update));
    this.vocabularyWrites = run.catch(() => undefined);
    return run;
  }

  private async writeVocabulary(update: VocabularyUpdate): Promise<number> {
    const cur = this.current?.record;
    // Templates left out keep the current ones, as in `run`.
    const templates = update.templates ?? (cur === undefined ? this.opts.initialVocabulary?.templates : cur.templates);
    const r = VocabularyRecordSchema.safeParse({ version: (cur?.version ?? 0) + 1, labels: update.labels, ...(templates === undefined ? {} : { templates }), writtenAt: this.now() });
    if (!r.success) throw new ConfigError(`invalid vocabulary: ${formatIssues(r.error, { indices: 'dots' })}`);
    const offset = await this.opts.writer.write(this.opts.topics.vocabulary, VOCABULARY_KEY, JSON.stringify(r.data));
    this.takeVocabulary(r.data, BigInt(offset));
    this.opts.logger?.info({ version: r.data.version, labels: r.data.labels.length }, 'vocabulary version written');
    return r.data.version;
  }

  // ---- what a gateway cannot do -----------------------------------------------------------------

  async tryVocabulary(_update: VocabularyUpdate): Promise<DraftResult> {
    throw new NotFoundError(`draft scoring is ${NOT_HERE}`);
  }

  preview(_id: string): never {
    throw new NotFoundError(`camera previews are ${NOT_HERE}`);
  }

  /** No frames here: 204 for every camera, so a dashboard tile polling for one stays quiet. */
  async snapshot(_id: string): Promise<Snapshot | undefined> {
    return undefined;
  }

  recentEvents(since: number): string {
    return this.opts.view?.recentJson(since) ?? '[]';
  }
}
