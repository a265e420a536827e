/**
 * What the fleet's roles write to each other through Kafka (docs/scale-out.md). Every record that
 * crosses a process boundary is parsed with one of these schemas on the way in.
 *
 * | topic (config fleet.topics) | key          | value                                   | written by | policy   |
 * | --------------------------- | ------------ | --------------------------------------- | ---------- | -------- |
 * | cameras                     | camera id    | CameraSchema JSON; null = removed       | gateway    | compact  |
 * | frames                      | camera id    | JPEG or RGB + FLEET_FRAME_HEADERS       | ingest     | delete   |
 * | states                      | camera id    | `camera` detection message JSON         | ingest     | compact  |
 * | vocabulary                  | VOCABULARY_KEY | VocabularyRecord JSON                 | gateway    | compact  |
 * | detections                  | camera id    | `window` detection message JSON, with   | infer      | delete   |
 * |                             |              | `session` and `windowSeq` (transactions)|            |          |
 */
import { z } from 'zod';
import { CameraSchema, LabelsSchema, TemplatesSchema } from '../../config/schema.js';
import { FRAME_HEADERS } from '../sources/kafka-frames.js';

/**
 * Frame headers beyond those of any frame message (src/sources/kafka-frames.ts): `seq` numbers a
 * camera's frames within one ingest `session` (gapless: a frame dropped while the broker is away
 * is dropped before it is numbered); `state` is the camera's state when the frame was taken.
 */
export const FLEET_FRAME_HEADERS = { ...FRAME_HEADERS, seq: 'seq', session: 'session', state: 'state' } as const;

export const CameraRecordSchema = CameraSchema;

export const VOCABULARY_KEY = 'vocabulary';

/** The one record of the vocabulary topic: versions only grow (the gateway reads the last one, writes +1). */
export const VocabularyRecordSchema = z.strictObject({
  version: z.number().int().positive(),
  labels: LabelsSchema,
  templates: TemplatesSchema.optional(),
  /** Epoch ms, for people reading the topic. */
  writtenAt: z.number().int().nonnegative(),
});
export type VocabularyRecord = z.infer<typeof VocabularyRecordSchema>;

/**
 * Window numbering, the same in every infer process: window k of a (camera, session) holds the
 * frames numbered kS .. kS+W-1 and is complete once a frame numbered kS+W-1 or later has arrived.
 * A window is a pure function of frame numbers, so a new owner that re-reads the frames numbers
 * its windows exactly as the old owner did.
 */
export function lastWindowCompletedBy(frameSeq: number, window: number, stride: number): number {
  return frameSeq < window - 1 ? -1 : Math.floor((frameSeq - (window - 1)) / stride);
}

/** Index of the first window that holds frame `frameSeq` (the oldest window that still needs it). */
export function firstWindowHolding(frameSeq: number, window: number, stride: number): number {
  return Math.max(0, Math.ceil((frameSeq - (window - 1)) / stride));
}

/**
 * Offset-commit metadata of the infer group on the frames topic. The committed offset is the
 * re-read point (the oldest frame a pending window still needs); `emittedBelow` is the offset up
 * to which windows were already published: a window completed by a frame below it is not sent again.
 */
export const InferOffsetMetadataSchema = z.strictObject({ emittedBelow: z.string().regex(/^\d+$/) });
export type InferOffsetMetadata = z.infer<typeof InferOffsetMetadataSchema>;
