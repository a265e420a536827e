/**
 * The configuration of a fleet (docs/scale-out.md): `ingest`, `infer` and `gateway` processes that
 * share work through Kafka topics. `run` (everything in one process) ignores this section.
 */
import { z } from 'zod';

const topic = z.string().min(1).max(249).regex(/^[A-Za-z0-9._-]+$/, 'a Kafka topic name: letters, digits, ".", "_" and "-"');
const partitions = z.number().int().min(1).max(10_000);

export const FleetTopicsSchema = z.strictObject({
  /** Sampled camera frames (key = camera id), written by ingest, read by infer. */
  frames: topic,
  /** The camera set, compacted (key = camera id, value = camera config, tombstone = removed). */
  cameras: topic,
  /** Camera states from ingest, compacted (key = camera id, value = a `camera` detection message). */
  states: topic,
  /** The current vocabulary, compacted (one key), written only by a gateway. */
  vocabulary: topic,
  /** Window results from infer (key = camera id), written in transactions. */
  detections: topic,
});
export type FleetTopics = z.infer<typeof FleetTopicsSchema>;

export const FleetSchema = z.strictObject({
  topics: FleetTopicsSchema,
  /** Partitions a role gives a topic it creates (an existing topic is left as it is; `topics --check` reports it). */
  partitions: z.strictObject({ frames: partitions, cameras: partitions, states: partitions, vocabulary: z.literal(1), detections: partitions }),
  replicationFactor: z.number().int().min(1).max(16),
  /** Consumer group of the ingest processes on the cameras topic. */
  ingestGroupId: z.string().min(1),
  /** Consumer group of the infer processes on the frames topic (its offsets are committed in transactions). */
  inferGroupId: z.string().min(1),
  /** How ingest encodes frames: JPEG (about 20x smaller) or raw RGB (no codec cost, exact). */
  frameFormat: z.enum(['jpeg', 'rgb']),
  jpegQuality: z.number().int().min(1).max(100),
  /** Frames an ingest process holds per camera while the broker is away; beyond it new frames are dropped (before numbering, so sequences stay gapless) and counted. */
  ingestBufferFrames: z.number().int().positive(),
  /** An infer process forgets a camera that sent no frame for this long, so its old frames stop pinning the re-read point. */
  cameraIdleSec: z.number().positive(),
});
export type FleetConfig = z.infer<typeof FleetSchema>;
