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
import { RecentHistory, type HistoryLimits, type HistoryStats } from './recent-history.js';

/** How far back GET /events reaches: the dashboard's longest timeline (what is kept: `dashboardHistory`)... */
export const RECENT_MS = 2 * 60 * 60 * 1000;
/** ...and at most this many messages in one answer (about 0.4 KiB each), the newest. */
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
  /** Windows and events for pages that open later, bounded per camera (see RecentHistory). */
  private readonly recent: RecentHistory;
  private readonly windows = new Map<string, VideoEmbedding>();
  /** The last JPEG made, per camera: several viewers polling the same frame cost one encode. */
  private readonly encoded = new Map<string, { seq: number; snapshot: Promise<Snapshot> }>();

  /** `history`: config `dashboardHistory` and `topk`. */
  constructor(history: HistoryLimits) {
    this.recent = new RecentHistory(history);
  }

  keepFrame(frame: Frame): void {
    this.frames.set(frame.camera, frame);
  }

  keepWindow(window: VideoEmbedding): void {
    this.windows.set(window.camera, window);
  }

  /** A removed camera's picture, window and history go with it. */
  forget(camera: string): void {
    this.recent.forget(camera);
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
    this.recent.publish(event);
  }

  async close(): Promise<void> {
    this.recent.clear();
  }

  /** The recent windows and (each event's newest message) events captured after `since` (epoch ms), oldest first, as one JSON array. */
  recentJson(since: number, now = Date.now()): string {
    return this.recent.json(Math.max(since, now - RECENT_MS), RECENT_MAX);
  }

  historyStats(): HistoryStats {
    return this.recent.stats();
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
