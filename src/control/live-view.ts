/**
 * What the dashboard looks at besides the live detections: each camera's newest frame (served as a
 * JPEG snapshot), its newest video embedding (scored against a draft vocabulary without touching
 * the pipeline), and the recent windows and events (so a page opened late still has its timeline).
 * Frames and embeddings are kept by reference, one per camera: they are immutable.
 */
import sharp from 'sharp';
import { scoreEmbedding, topK } from '../model/scoring.js';
import type { OutputEvent, Sink } from '../sinks/events.js';
import type { Frame, LabelScore, VideoEmbedding, Vocabulary } from '../types.js';

/** How far back the recent windows and events reach: the dashboard's longest timeline... */
export const RECENT_MS = 2 * 60 * 60 * 1000;
/** ...or this many messages (about 300 bytes each), whichever is less. */
export const RECENT_MAX = 20_000;

export interface Snapshot {
  readonly jpeg: Buffer;
  /** Capture time of the frame, epoch ms. */
  readonly captureTs: number;
}

/** How a camera's newest window scores against a draft vocabulary. */
export interface DraftScore {
  readonly camera: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  /** Best labels of the draft, highest first. */
  readonly topk: readonly LabelScore[];
  /** Every label of the draft with its score, in the draft's order. */
  readonly scores: readonly LabelScore[];
}

export class LiveView implements Sink {
  private readonly frames = new Map<string, Frame>();
  /** Windows and events as published (their JSON), oldest first. */
  private recent: OutputEvent[] = [];
  private readonly windows = new Map<string, VideoEmbedding>();
  /** The last JPEG made, per camera: several viewers polling the same frame cost one encode. */
  private readonly encoded = new Map<string, { seq: number; snapshot: Promise<Snapshot> }>();

  keepFrame(frame: Frame): void {
    this.frames.set(frame.camera, frame);
  }

  keepWindow(window: VideoEmbedding): void {
    this.windows.set(window.camera, window);
  }

  /** A removed camera's picture and window go with it. */
  forget(camera: string): void {
    this.frames.delete(camera);
    this.windows.delete(camera);
    this.encoded.delete(camera);
  }

  /** The camera's newest frame as a JPEG, or undefined before its first frame. */
  snapshot(camera: string): Promise<Snapshot> | undefined {
    const frame = this.frames.get(camera);
    if (frame === undefined) return undefined;
    const cached = this.encoded.get(camera);
    if (cached?.seq === frame.seq) return cached.snapshot;
    const snapshot = sharp(frame.rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } })
      .jpeg({ quality: 80 })
      .toBuffer()
      .then((jpeg) => ({ jpeg, captureTs: frame.captureTs }));
    this.encoded.set(camera, { seq: frame.seq, snapshot });
    return snapshot;
  }

  /** A sink of the pipeline's fan-out: keeps windows and events (camera states are in GET /cameras). */
  publish(event: OutputEvent): void {
    if (event.kind === 'camera') return;
    this.recent.push(event);
    // Trimmed in bulk, not per message: one copy per quarter of the bound.
    if (this.recent.length > RECENT_MAX * 1.25) this.recent = this.recent.slice(-RECENT_MAX);
  }

  async close(): Promise<void> {
    this.recent = [];
  }

  /** The recent windows and events captured after `since` (epoch ms), oldest first, as one JSON array. */
  recentJson(since: number, now = Date.now()): string {
    const from = Math.max(since, now - RECENT_MS);
    const kept = this.recent.slice(-RECENT_MAX).filter((e) => (e.captureTs ?? 0) > from);
    return `[${kept.map((e) => e.json).join(',')}]`;
  }

  /** Each camera's newest window scored against `vocabulary` (the live scoring, on the cached embeddings). */
  score(vocabulary: Vocabulary, k = 5): DraftScore[] {
    return [...this.windows.values()].map((w) => {
      const scores = scoreEmbedding(w.embedding, vocabulary);
      const all = vocabulary.labels.map((label, i) => ({ label, score: scores[i] }));
      return { camera: w.camera, windowStart: w.start, windowEnd: w.end, topk: topK(scores, vocabulary.labels, k), scores: all };
    });
  }
}
