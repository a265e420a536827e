/** The configuration of supervision, shutdown and file output: what keeps the service up for weeks. */
import { z } from 'zod';

export const BackoffSchema = z.strictObject({
  initialMs: z.number().int().positive(),
  maxMs: z.number().int().positive(),
  /** 0..1: each delay is scaled by a random factor in [1-jitter, 1+jitter]. */
  jitter: z.number().min(0).max(1),
});

export const SupervisionSchema = z.strictObject({
  /** Restart ffmpeg when no frame arrived for this long while streaming. */
  stallTimeoutSec: z.number().positive(),
  /**
   * Time allowed from starting ffmpeg to its first frame: opening a network stream includes
   * ffmpeg's probing (about 5 s for RTSP), which must not count as a stall.
   */
  connectTimeoutSec: z.number().positive(),
  backoff: BackoffSchema,
  /** Failures in a row after which a camera is reported `failed` (it is still retried). */
  failedAfter: z.number().int().positive().optional(),
});
export type SupervisionConfig = z.infer<typeof SupervisionSchema>;

/** Graceful shutdown on SIGTERM/SIGINT (README, "Stopping"). */
export const ShutdownSchema = z.strictObject({
  /** From the signal to the exit: windows in flight, Kafka flush and commits must fit in it; past it the process exits 1. */
  timeoutSec: z.number().positive(),
});

/** JSONL file rotation: the file is renamed to `<path>.<UTC time>` and a new one started. */
export const JsonlRotationSchema = z
  .strictObject({
    /** Rotate before a line would take the file past this size. */
    maxBytes: z.number().int().positive().optional(),
    /** Rotate when the file is older than this. */
    everySec: z.number().positive().optional(),
    /** Rotated files kept (the oldest are deleted); default all. */
    keep: z.number().int().positive().optional(),
  })
  .refine((r) => r.maxBytes !== undefined || r.everySec !== undefined, { message: 'give maxBytes, everySec or both' });
export type JsonlRotation = z.infer<typeof JsonlRotationSchema>;
