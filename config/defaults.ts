import { FRAME_BATCH_DEFAULTS } from '../src/stages/embed-frames.js';
import type { Config } from './schema.js';

/** Everything but the weights has a default; the loader deep-merges defaults < YAML < flags. */
export const DEFAULTS: Omit<Config, 'weights'> = {
  engine: 'auto',
  quantize: 'none',
  cameras: [],
  textCache: { enabled: true, maxMB: 256 },
  window: 8,
  stride: 4,
  fps: 4,
  decode: { width: 256, height: 256, fit: 'crop', scaler: 'bicubic', threads: 0, skipLoopFilter: 'none', skipFrame: 'none' },
  port: 8080,
  security: {
    insecureNoAuth: false,
    metricsRequireToken: false,
    allowedOrigins: [],
    cameraUrls: { allowedSchemes: ['rtsp', 'rtsps', 'http', 'https', 'v4l2'], allowFileSources: false, allowHosts: [], denyHosts: [], allowLoopback: false, allowLinkLocal: false, allowPrivate: true },
    limits: { maxCameras: 64, messagesPerMinute: 120, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 },
  },
  // The frame batcher's own defaults (maxWaitMs measured by bench:cameras, docs/cameras-per-machine.md).
  batching: { ...FRAME_BATCH_DEFAULTS, queueCapacity: 32 },
  tracker: { enterThreshold: 0.5, exitThreshold: 0.3, minWindows: 2, cooldownWindows: 2, updateEvery: 1 },
  topk: 5,
  supervision: { stallTimeoutSec: 10, connectTimeoutSec: 30, backoff: { initialMs: 500, maxMs: 30_000, jitter: 0.2 }, failedAfter: 5 },
  preview: { enabled: false, basePort: 9999 },
  websocket: { maxQueue: 256, maxBufferedBytes: 1 << 20, heartbeatMs: 15_000 },
  // Two hours at the default one window per second (fps 4, stride 4): about 0.9 MiB per camera with events.
  dashboardHistory: { windowsPerCamera: 7200, eventsPerCamera: 500 },
  shutdown: { timeoutSec: 30 },
  fleet: {
    topics: { frames: 'actionclip.fleet.frames', cameras: 'actionclip.fleet.cameras', states: 'actionclip.fleet.camera-states', vocabulary: 'actionclip.fleet.vocabulary', detections: 'actionclip.fleet.detections' },
    partitions: { frames: 12, cameras: 12, states: 3, vocabulary: 1, detections: 6 },
    replicationFactor: 1,
    ingestGroupId: 'actionclip-ingest',
    inferGroupId: 'actionclip-infer',
    frameFormat: 'jpeg',
    jpegQuality: 90,
    ingestBufferFrames: 64,
    cameraIdleSec: 60,
  },
  logLevel: 'info',
};

/** Kafka defaults, applied when a `kafka` section (or `--kafka`) is present. */
export const KAFKA_DEFAULTS = {
  clientId: 'actionclip-stream',
  deadLetterTopic: 'actionclip.frames.dlq',
  groupId: 'actionclip-stream',
  producerBufferSize: 10_000,
} as const;
