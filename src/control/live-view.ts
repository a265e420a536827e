/**
 * What the dashboard looks at besides the detections: each camera's newest frame (served as a JPEG
 * snapshot) and its newest video embedding (scored against a draft vocabulary without touching the
 * pipeline). One reference per camera, nothing copied: frames and embeddings are immutable.
 */
import sharp from 'sharp';
import { scoreEmbedding, topK } from '../model/scoring.js';
import type { Frame, LabelScore, VideoEmbedding, Vocabulary } from '../types.js';

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

export class LiveView {
  private readonly frames = new Map<string, Frame>();
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

  /** Each camera's newest window scored against `vocabulary` (the live scoring, on the cached embeddings). */
  score(vocabulary: Vocabulary, k = 5): DraftScore[] {
    return [...this.windows.values()].map((w) => {
      const scores = scoreEmbedding(w.embedding, vocabulary);
      const all = vocabulary.labels.map((label, i) => ({ label, score: scores[i] }));
      return { camera: w.camera, windowStart: w.start, windowEnd: w.end, topk: topK(scores, vocabulary.labels, k), scores: all };
    });
  }
}
