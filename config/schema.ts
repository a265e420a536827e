import { z } from 'zod';
import { PLACEHOLDER } from '../src/model/prompts.js';
import { cidrList } from '../src/security/url-policy.js';
import { describeUrl } from '../src/sources/registry.js';
import { FleetSchema } from './schema-fleet.js';
import { JsonlRotationSchema, ShutdownSchema, SupervisionSchema } from './schema-reliability.js';

/**
 * The service configuration: the single source of truth. YAML files, CLI flags, HTTP bodies and
 * control messages are all validated against the schemas below; defaults live in `defaults.ts`.
 */

/** Camera ids end up in metric labels, Kafka keys and URLs: keep them to a safe alphabet. */
export const CameraIdSchema = z
  .string()
  .min(1, 'camera id must not be empty')
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'camera id may contain letters, digits, "_", "." and "-"');

/** A URL of a scheme in the source registry, checked with the scheme's own parser now, not at the first connection. */
const sourceUrl = (what: string) =>
  z
    .string()
    .min(1, `${what} must not be empty`)
    .superRefine((url, ctx) => {
      try {
        describeUrl(url).ffmpegInput(url);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    });

/**
 * How ffmpeg decodes and scales a camera: the cost of a camera is mostly here, not in the model
 * (docs/cameras-per-machine.md). Defaults in `decode`; each camera may override any of them.
 */
export const DecodeTuningSchema = z.strictObject({
  /** `stretch`: scale to width×height whatever the aspect; `crop`: fill width×height keeping the aspect, cutting the centre (what the model's centre crop keeps). */
  fit: z.enum(['stretch', 'crop']),
  /** swscale's algorithm; `bicubic` is ffmpeg's default, `fast_bilinear` the cheapest. */
  scaler: z.enum(['bicubic', 'bilinear', 'fast_bilinear', 'area']),
  /** Decoder threads per camera; 0 lets ffmpeg choose (one per core, which only adds contention with many cameras). */
  threads: z.number().int().min(0).max(64),
  /** Skip the H.264/H.265 deblocking filter: on no frame, on frames no other frame refers to, or on all (cheaper, blurrier). */
  skipLoopFilter: z.enum(['none', 'nonref', 'all']),
  /** Decode every frame, only reference frames, or only keyframes (for a sampled rate at or below the keyframe rate). */
  skipFrame: z.enum(['none', 'nonref', 'nokey']),
});
export type DecodeTuning = z.infer<typeof DecodeTuningSchema>;

export const CameraSchema = z.strictObject({
  id: CameraIdSchema,
  /** A URL of a scheme in the source registry (rtsp://, http(s)://, v4l2://, ...) or a file path. */
  url: sourceUrl('camera url'),
  /**
   * A second, low-resolution stream of the same camera (an RTSP substream) to run detection on;
   * `url` stays the one shown in previews. The first thing to set when a machine watches many cameras.
   */
  detectUrl: sourceUrl('camera detectUrl').optional(),
  /** Per-camera overrides of `decode`'s tuning. */
  decode: DecodeTuningSchema.partial().optional(),
});
export type CameraConfig = z.infer<typeof CameraSchema>;

/** Most labels in one vocabulary (16 templates x 1000 labels = 16k prompts to encode). */
export const MAX_LABELS = 1000;
export const MAX_TEMPLATES = 64;
export const MAX_LABEL_LENGTH = 200;

/**
 * The one set of vocabulary rules, for config files, HTTP bodies, WebSocket and Kafka messages:
 * labels are trimmed, non-empty, unique after trimming (case-sensitive), at most MAX_LABELS of at
 * most MAX_LABEL_LENGTH characters.
 */
export const LabelsSchema = z
  .array(z.string().trim().min(1, 'label is empty').max(MAX_LABEL_LENGTH, `label longer than ${MAX_LABEL_LENGTH} characters`))
  .min(1, 'at least one label is required')
  .max(MAX_LABELS, `at most ${MAX_LABELS} labels`)
  .superRefine((labels, ctx) => {
    const seen = new Map<string, number>();
    labels.forEach((l, i) => {
      const j = seen.get(l);
      if (j !== undefined) ctx.addIssue({ code: 'custom', path: [i], message: `duplicate label ${JSON.stringify(l)} (also at ${j})` });
      else seen.set(l, i);
    });
  });
/** ActionCLIP prompt templates: `{}` is replaced by the label; at most MAX_TEMPLATES. */
export const TemplatesSchema = z
  .array(z.string().includes(PLACEHOLDER, { message: `template has no "${PLACEHOLDER}" placeholder for the label` }))
  .min(1, 'at least one template is required')
  .max(MAX_TEMPLATES, `at most ${MAX_TEMPLATES} templates`);

/** A vocabulary request; templates omitted keep the current ones (or the 16 ActionCLIP templates). */
export const VocabularyUpdateSchema = z.strictObject({
  labels: LabelsSchema,
  templates: TemplatesSchema.optional(),
});
export type VocabularyUpdate = z.infer<typeof VocabularyUpdateSchema>;

export { BackoffSchema, SupervisionSchema, type SupervisionConfig } from './schema-reliability.js';

/**
 * SASL towards the brokers. The password is never part of the configuration (files end up in
 * repositories, flags in `ps`): it comes from `passwordFile` or the KAFKA_SASL_PASSWORD variable.
 */
export const KafkaSaslSchema = z.strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
  /** Default: the KAFKA_SASL_USERNAME environment variable. */
  username: z.string().min(1).optional(),
  /** A file holding the password (a mounted secret); one trailing newline is ignored. */
  passwordFile: z.string().min(1).optional(),
  password: z.never({ error: 'a password does not belong in the configuration: use kafka.sasl.passwordFile or the KAFKA_SASL_PASSWORD environment variable' }).optional(),
});
export type KafkaSaslConfig = z.infer<typeof KafkaSaslSchema>;

/** TLS towards the brokers: `true` trusts the system CAs; files are PEM. */
export const KafkaSslSchema = z.union([
  z.boolean(),
  z
    .strictObject({
      /** CA bundle to trust instead of the system's (a private CA). */
      ca: z.string().min(1).optional(),
      /** Client certificate and key, for brokers that require mutual TLS. */
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      /** Name to check the broker's certificate against, when it differs from the broker address. */
      servername: z.string().min(1).optional(),
    })
    .refine((s) => (s.cert === undefined) === (s.key === undefined), { message: 'give both cert and key for a client certificate, or neither', path: ['key'] }),
]);
export type KafkaSslConfig = z.infer<typeof KafkaSslSchema>;

export const KafkaSchema = z.strictObject({
  brokers: z.array(z.string().min(1)).min(1, 'at least one broker is needed'),
  sasl: KafkaSaslSchema.optional(),
  ssl: KafkaSslSchema.optional(),
  clientId: z.string().min(1),
  /** Frames in (key = camera id). Absent: no Kafka frame source. */
  framesTopic: z.string().min(1).optional(),
  /** Window results and detections out (key = camera id). Absent: no Kafka sink. */
  detectionsTopic: z.string().min(1).optional(),
  /** Vocabulary and camera changes in. Absent: no Kafka control. */
  controlTopic: z.string().min(1).optional(),
  /** Malformed frame messages go here with an `error` header. */
  deadLetterTopic: z.string().min(1),
  /** Frames consumer group: workers sharing it split the frame partitions between them. */
  groupId: z.string().min(1),
  /** How soon the group gives a crashed worker's partitions to another (kafkajs default 30000; the broker's minimum is 6000). */
  sessionTimeoutMs: z.number().int().positive().optional(),
  /** Messages held while the broker is unreachable; beyond it the oldest are dropped and counted. */
  producerBufferSize: z.number().int().positive(),
});
export type KafkaConfig = z.infer<typeof KafkaSchema>;

export const BatchingSchema = z.strictObject({
  maxBatch: z.number().int().positive(),
  maxWaitMs: z.number().nonnegative(),
  /** Per-camera frame queue before the batcher (drop-oldest, counted). */
  queueCapacity: z.number().int().positive(),
});

/** Event hysteresis (src/detections/event-tracker.ts). */
export const TrackerSchema = z.strictObject({
  /** A label's probability must reach this to count towards a `start`... */
  enterThreshold: z.number().min(0).max(1),
  /** ...and an active event counts towards its `end` while below this. */
  exitThreshold: z.number().min(0).max(1),
  /** Consecutive windows >= enterThreshold before `start`. */
  minWindows: z.number().int().positive(),
  /** Consecutive windows < exitThreshold before `end`. */
  cooldownWindows: z.number().int().positive(),
  /** An `update` every this many windows while active; 0 = none. */
  updateEvery: z.number().int().nonnegative(),
});

export const DecodeSchema = DecodeTuningSchema.extend({
  /** Frames are scaled inside ffmpeg to this size before they reach Node. */
  width: z.number().int().min(8).max(4096),
  height: z.number().int().min(8).max(4096),
});

export const PreviewSchema = z.strictObject({
  /** Relay cameras to browsers as MPEG1 over WebSocket (node-rtsp-stream). Off by default. */
  enabled: z.boolean(),
  /** First WebSocket port; camera n gets basePort + n. */
  basePort: z.number().int().min(1).max(65535),
});

/** HTTPS and WSS for the control API and `/ws`: PEM files, re-read on SIGHUP. */
export const TlsSchema = z.strictObject({
  cert: z.string({ error: 'a certificate file (PEM) is required with the key (--tls-cert)' }).min(1, 'a certificate file (PEM) is required'),
  key: z.string({ error: 'the private key file (PEM) of the certificate is required (--tls-key)' }).min(1, 'a private key file (PEM) is required'),
});
export type TlsConfig = z.infer<typeof TlsSchema>;

const addresses = (setting: string) =>
  z.array(z.string()).superRefine((list, ctx) => {
    try {
      cidrList(list, setting);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

/** What cameras added through the API may point at (src/security/url-policy.ts). */
export const CameraUrlPolicySchema = z.strictObject({
  allowedSchemes: z.array(z.string().regex(/^[a-z][a-z0-9+.-]+$/, 'a scheme is lower-case letters, digits, "+", "." or "-"')),
  /** `file:` URLs and plain paths: a local-file read for whoever holds an admin token. */
  allowFileSources: z.boolean(),
  /** CIDRs or addresses; when not empty, camera hosts must be in one of them. */
  allowHosts: addresses('security.cameraUrls.allowHosts'),
  denyHosts: addresses('security.cameraUrls.denyHosts'),
  allowLoopback: z.boolean(),
  /** 169.254.0.0/16 and fe80::/10 (cloud metadata addresses are always refused). */
  allowLinkLocal: z.boolean(),
  allowPrivate: z.boolean(),
});

export const SecuritySchema = z.strictObject({
  /** Lines `sha256:<hex> <role> <name>` (`actionclip-stream token create`); else the ACTIONCLIP_TOKENS variable. */
  tokensFile: z.string().min(1).optional(),
  /** Listen beyond loopback without tokens (anyone who can reach the port can do anything). */
  insecureNoAuth: z.boolean(),
  /** `/metrics` needs a viewer token (default: open, for Prometheus scrapers on a private network). */
  metricsRequireToken: z.boolean(),
  /** Browser origins besides the service's own that may call the API and open /ws (CORS). */
  allowedOrigins: z.array(z.url({ message: 'an origin is a URL such as https://dashboard.example' })),
  cameraUrls: CameraUrlPolicySchema,
  limits: z.strictObject({
    maxCameras: z.number().int().positive(),
    /** Per WebSocket client. */
    messagesPerMinute: z.number().int().positive(),
    headersTimeoutMs: z.number().int().positive(),
    requestTimeoutMs: z.number().int().positive(),
  }),
  /** Control actions as JSON lines, besides the log. */
  auditFile: z.string().min(1).optional(),
  /** Absent: plain HTTP and WS. */
  tls: TlsSchema.optional(),
});
export type SecurityConfig = z.infer<typeof SecuritySchema>;

/** Prompt embeddings kept on disk between starts (README, "Text-embedding cache"). */
export const TextCacheSchema = z.strictObject({
  enabled: z.boolean(),
  /** Default `$ACTIONCLIP_HOME/text-embeddings` (`~/.cache/actionclip-stream/text-embeddings`). */
  dir: z.string().min(1).optional(),
  /** Size bound of all entries together; the least recently used go first. */
  maxMB: z.number().positive(),
});
export type TextCacheConfig = z.infer<typeof TextCacheSchema>;

/** Weight quantisation of the ONNX engine (`--quantize`, config `quantize`). */
export const QuantizeSchema = z.enum(['none', 'int8']);

export const ConfigSchema = z
  .strictObject({
    weights: z
      .string({ error: (iss) => (iss.input === undefined ? 'no CLIP weights given: pass --weights FILE (.safetensors, a folder holding one, or an ActionCLIP .pt), set ACTIONCLIP_WEIGHTS, or set weights: in the --config file' : 'must be a file path') })
      .min(1, 'a CLIP weights file is required'),
    fusion: z.string().min(1).optional(),
    head: z.string().min(1).optional(),
    /** auto = webgpu on a hardware adapter, tfjs when tfjs-node-gpu sees a GPU, else ONNX Runtime (see loadModel). */
    engine: z.enum(['tfjs', 'onnx', 'webgpu', 'auto']),
    /** int8: the ONNX engine with 8-bit matmul weights (engine auto then means ONNX). */
    quantize: QuantizeSchema,
    backend: z.string().min(1).optional(),
    cameras: z.array(CameraSchema),
    /** Inline labels; or `vocabulary`: a file path or a preset name from config/vocabularies. */
    labels: LabelsSchema.optional(),
    vocabulary: z.string().min(1).optional(),
    templates: TemplatesSchema.optional(),
    textCache: TextCacheSchema,
    window: z.union([z.literal(8), z.literal(16), z.literal(32)], { error: (iss) => `frames per window must be 8, 16 or 32 (the head's T), got ${JSON.stringify(iss.input)}` }),
    stride: z.number().int().positive(),
    fps: z.number().positive().max(120),
    decode: DecodeSchema,
    /** HTTP API + WebSocket port; 0 picks a free one. */
    port: z.number().int().min(0).max(65535),
    /** Default: 127.0.0.1 without tokens, 0.0.0.0 with them (see src/security/bind-policy.ts). */
    host: z.string().min(1).optional(),
    security: SecuritySchema,
    kafka: KafkaSchema.optional(),
    /** Scale-out roles only (ingest, infer, gateway). */
    fleet: FleetSchema,
    batching: BatchingSchema,
    tracker: TrackerSchema,
    topk: z.number().int().positive(),
    /** JSONL output: a path, or '-' for stdout. */
    jsonl: z.string().min(1).optional(),
    jsonlRotation: JsonlRotationSchema.optional(),
    shutdown: ShutdownSchema,
    supervision: SupervisionSchema,
    preview: PreviewSchema,
    websocket: z.strictObject({
      /** Per-client messages queued before the client is closed as too slow. */
      maxQueue: z.number().int().positive(),
      /** Bytes the socket may hold unsent before the client is closed as too slow. */
      maxBufferedBytes: z.number().int().positive(),
      heartbeatMs: z.number().int().positive(),
    }),
    /**
     * What GET /events keeps for dashboards that open later, per camera, allocated at its first
     * window (memory follows the cameras, not the time running): windows (34 + 12 × topk bytes each)
     * and events (the newest message of each, about 0.5 KiB). 0 keeps none.
     */
    dashboardHistory: z.strictObject({
      windowsPerCamera: z.number().int().min(0).max(1_000_000),
      eventsPerCamera: z.number().int().min(0).max(100_000),
    }),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  })
  .superRefine((c, ctx) => {
    if (c.stride > c.window) ctx.addIssue({ code: 'custom', path: ['stride'], message: `stride (${c.stride}) must not exceed window (${c.window})` });
    if (c.labels !== undefined && c.vocabulary !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['vocabulary'], message: 'give either labels or vocabulary, not both' });
    }
    if (c.tracker.exitThreshold > c.tracker.enterThreshold) {
      ctx.addIssue({ code: 'custom', path: ['tracker', 'exitThreshold'], message: 'exitThreshold must not exceed enterThreshold' });
    }
    if (c.supervision.backoff.maxMs < c.supervision.backoff.initialMs) {
      ctx.addIssue({ code: 'custom', path: ['supervision', 'backoff', 'maxMs'], message: 'maxMs must be >= initialMs' });
    }
    const seen = new Set<string>();
    c.cameras.forEach((cam, i) => {
      if (seen.has(cam.id)) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'id'], message: `duplicate camera id "${cam.id}"` });
      seen.add(cam.id);
    });
  });

export type Config = z.infer<typeof ConfigSchema>;
