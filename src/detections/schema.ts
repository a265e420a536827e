import { z } from 'zod';
import { ConfigError, formatIssues } from '../errors.js';
import { CAMERA_STATUSES } from '../types.js';

/**
 * The detection messages every sink publishes (WebSocket, Kafka, JSONL): one JSON object per
 * message, `schema` = DETECTION_SCHEMA_VERSION. Bump the version on any incompatible change.
 *
 * - `window`: one scored window (top-1 as label/score, full top-k).
 * - `start` / `update` / `end`: an action on a camera (see event-tracker for the hysteresis);
 *   `eventStart` (capture time of the event's first window) with camera and label identifies it;
 *   `end` says why (`reason`).
 * - `camera`: a camera changed state (connecting, streaming, stalled, reconnecting, stopped).
 *
 * Times are epoch ms. `latencyMs` = publish time - capture time of the window's last frame
 * (`windowEnd`) or, for camera messages, publish time - `state.since`; set with `stampLatency` by
 * whoever publishes.
 */
export const DETECTION_SCHEMA_VERSION = 1 as const;

export const LabelScoreSchema = z.object({ label: z.string(), score: z.number() });

const windowFields = {
  schema: z.literal(DETECTION_SCHEMA_VERSION),
  camera: z.string(),
  label: z.string(),
  score: z.number(),
  topk: z.array(LabelScoreSchema),
  windowStart: z.number(),
  windowEnd: z.number(),
  frames: z.number().int().positive(),
  vocabularyVersion: z.number().int().nonnegative(),
  model: z.string(),
  latencyMs: z.number(),
  /** Fleet only (docs/scale-out.md): the ingest session that numbered the frames, and this window's number in it. */
  session: z.string().optional(),
  windowSeq: z.number().int().nonnegative().optional(),
};

export const WindowMessageSchema = z.object({ type: z.literal('window'), ...windowFields });
export const StartMessageSchema = z.object({ type: z.literal('start'), ...windowFields, eventStart: z.number() });
export const UpdateMessageSchema = z.object({ type: z.literal('update'), ...windowFields, eventStart: z.number() });
export const EndReasonSchema = z.enum(['score', 'camera', 'vocabulary', 'complete']);
export const EndMessageSchema = z.object({ type: z.literal('end'), ...windowFields, eventStart: z.number(), reason: EndReasonSchema });
export const CameraStateSchema = z.object({
  camera: z.string(),
  status: z.enum(CAMERA_STATUSES),
  since: z.number(),
  attempt: z.number().int().nonnegative(),
  reason: z.string().optional(),
});
export const CameraMessageSchema = z.object({
  schema: z.literal(DETECTION_SCHEMA_VERSION),
  type: z.literal('camera'),
  camera: z.string(),
  state: CameraStateSchema,
  latencyMs: z.number(),
});

export const DetectionMessageSchema = z.discriminatedUnion('type', [
  WindowMessageSchema,
  StartMessageSchema,
  UpdateMessageSchema,
  EndMessageSchema,
  CameraMessageSchema,
]);

export type WindowMessage = z.infer<typeof WindowMessageSchema>;
export type StartMessage = z.infer<typeof StartMessageSchema>;
export type UpdateMessage = z.infer<typeof UpdateMessageSchema>;
export type EndMessage = z.infer<typeof EndMessageSchema>;
export type EndReason = z.infer<typeof EndReasonSchema>;
export type CameraMessage = z.infer<typeof CameraMessageSchema>;
export type DetectionMessage = z.infer<typeof DetectionMessageSchema>;
export type EventMessage = StartMessage | UpdateMessage | EndMessage;

/** A message before publishing: everything but `latencyMs`, which the publisher sets. */
export type Unstamped<M extends DetectionMessage> = M extends DetectionMessage ? Omit<M, 'latencyMs'> : never;
export type Detection = Unstamped<DetectionMessage>;

/**
 * Sets `latencyMs` at publish time `now` (epoch ms): now - windowEnd (capture time of the window's
 * last frame), or now - state.since for camera messages. Pass the message type
 * (`stampLatency<WindowMessage>(...)`) to keep it precise.
 */
export function stampLatency(message: Detection, now: number): DetectionMessage;
export function stampLatency<M extends DetectionMessage>(message: Unstamped<M>, now: number): M;
export function stampLatency<M extends DetectionMessage>(message: Unstamped<M>, now: number): M {
  const m = message as Unstamped<DetectionMessage>;
  const ref = m.type === 'camera' ? m.state.since : m.windowEnd;
  return { ...m, latencyMs: now - ref } as M;
}

/** Parses and validates one message (e.g. from Kafka); throws ConfigError naming the bad field. */
export function parseDetectionMessage(json: unknown): DetectionMessage {
  const r = DetectionMessageSchema.safeParse(json);
  if (r.success) return r.data;
  const what = formatIssues(r.error, { root: 'message', indices: 'dots' });
  throw new ConfigError(`invalid detection message (schema ${DETECTION_SCHEMA_VERSION}): ${what}`);
}
