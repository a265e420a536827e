/**
 * Messages between pipeline stages: plain, typed, immutable objects. One frame's way:
 * Frame -> FrameEmbedding -> Window -> WindowResult -> Detection.
 */

/** A decoded RGB frame from a camera (raw, before model preprocessing). */
export interface Frame {
  readonly camera: string;
  /** Per-camera sequence number, increasing by one for every frame the source emitted. */
  readonly seq: number;
  /** Capture time, epoch milliseconds. */
  readonly captureTs: number;
  readonly width: number;
  readonly height: number;
  /** Interleaved RGB, width*height*3 bytes. */
  readonly rgb: Uint8Array;
}

/** A frame after the image encoder: one `[D]` embedding, not normalised. */
export interface FrameEmbedding {
  readonly camera: string;
  readonly seq: number;
  readonly captureTs: number;
  readonly embedding: Float32Array;
}

/** T consecutive frame embeddings of one camera, ready for the temporal head. */
export interface Window {
  readonly camera: string;
  /** Capture time of the first and last frame, epoch ms. */
  readonly start: number;
  readonly end: number;
  /** seq of the first frame in the window. */
  readonly firstSeq: number;
  readonly frames: number;
  /** `[T,D]` row-major. */
  readonly embeddings: Float32Array;
}

export interface LabelScore {
  readonly label: string;
  readonly score: number;
}

/** A scored window: top-k labels with the vocabulary version that scored it. */
export interface WindowResult {
  readonly camera: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly frames: number;
  readonly topk: readonly LabelScore[];
  /** Probability of every label of the vocabulary, in vocabulary order. */
  readonly scores: Float32Array;
  readonly labels: readonly string[];
  readonly vocabularyVersion: number;
}

/** Every state a camera's supervision can be in: the one list the rest derives from. */
/** `failed`: reconnecting after `supervision.failedAfter` failures in a row (still retried, at the capped back-off). */
export const CAMERA_STATUSES = ['connecting', 'streaming', 'stalled', 'reconnecting', 'failed', 'stopped'] as const;
export type CameraStatus = (typeof CAMERA_STATUSES)[number];

export interface CameraState {
  readonly camera: string;
  readonly status: CameraStatus;
  /** Epoch ms of the change. */
  readonly since: number;
  readonly attempt: number;
  readonly reason?: string;
}

/** A window after the temporal head: one `[D]` video embedding, not normalised. */
export interface VideoEmbedding {
  readonly camera: string;
  /** Capture time of the window's first and last frame, epoch ms. */
  readonly start: number;
  readonly end: number;
  readonly firstSeq: number;
  readonly frames: number;
  readonly embedding: Float32Array;
}

/**
 * One immutable version of the open vocabulary: labels, prompt templates and the text embeddings
 * of every prompt (template-major: prompt `m*L + l` is template m applied to label l), each row
 * L2-normalised so scoring is a dot product.
 */
export interface Vocabulary {
  /** 1 for the first vocabulary, +1 per successful update. */
  readonly version: number;
  readonly labels: readonly string[];
  readonly templates: readonly string[];
  /** `[M*L, D]` row-major, rows L2-normalised. */
  readonly textEmbeddings: Float32Array;
  readonly dim: number;
  /** Epoch ms when this version became active. */
  readonly createdAt: number;
}
