import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { openFfmpegProcesses } from '../sources/ffmpeg/process.js';
import { CAMERA_STATUSES as STATUSES, type CameraStatus } from '../types.js';


/**
 * Every counter the service exports, on its own registry (not prom-client's global one) so several
 * pipelines in one process, as in tests, never collide. Nothing but `observeMetrics` writes to it:
 * components report Instrumentation events and stay testable without Prometheus.
 */
export class Metrics {
  readonly registry: Registry;
  readonly framesIn: Counter<'camera' | 'source'>;
  readonly framesDropped: Counter<'camera' | 'stage'>;
  readonly malformedFrames: Counter<'reason'>;
  readonly batchSize: Histogram<'stage'>;
  readonly engineLatency: Histogram<'stage'>;
  readonly frameToDetection: Histogram<'kind'>;
  readonly queueDepth: Gauge<'camera' | 'stage'>;
  readonly cameraState: Gauge<'camera' | 'status'>;
  readonly cameraRestarts: Counter<'camera'>;
  readonly windows: Counter<'camera'>;
  readonly detections: Counter<'kind'>;
  readonly sinkMessages: Counter<'sink'>;
  readonly sinkDropped: Counter<'sink' | 'reason'>;
  readonly sinkBuffered: Gauge<'sink'>;
  readonly wsClients: Gauge;
  readonly vocabularyVersion: Gauge;
  readonly backend: Gauge<'engine' | 'backend'>;
  readonly kafkaConnected: Gauge<'component'>;
  // Reliability (issue 15): retried faults and sink write errors.
  readonly faultsRetried: Counter<'component' | 'reason'>;
  readonly sinkErrors: Counter<'sink' | 'code'>;
  readonly ffmpegProcesses: Gauge;
  readonly vocabularyPending: Gauge;
  readonly vocabularySuperseded: Counter;
  readonly textCacheLookups: Counter<'result'>;
  readonly textCacheEvictions: Counter;
  readonly textCacheLimit: Gauge;
  readonly fleetInvalidRecords: Counter<'topic'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [(this.registry = new Registry())];
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    // Prometheus base units: seconds (observers convert from the events' milliseconds).
    const seconds = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    this.framesIn = new Counter({ name: 'actionclip_frames_in_total', help: 'Frames received per camera', labelNames: ['camera', 'source'], registers });
    this.framesDropped = new Counter({ name: 'actionclip_frames_dropped_total', help: 'Frames or windows dropped by bounded queues (drop-oldest)', labelNames: ['camera', 'stage'], registers });
    this.malformedFrames = new Counter({ name: 'actionclip_kafka_frames_malformed_total', help: 'Kafka frame messages that could not be decoded (sent to the dead-letter topic)', labelNames: ['reason'], registers });
    this.batchSize = new Histogram({ name: 'actionclip_batch_size', help: 'Items per engine call', labelNames: ['stage'], buckets: [1, 2, 4, 8, 16, 32, 64], registers });
    this.engineLatency = new Histogram({ name: 'actionclip_engine_latency_seconds', help: 'Engine call latency (encoder, fusion)', labelNames: ['stage'], buckets: seconds, registers });
    this.frameToDetection = new Histogram({ name: 'actionclip_frame_to_output_latency_seconds', help: 'Capture of the last frame of a window to its result leaving the pipeline', labelNames: ['kind'], buckets: seconds, registers });
    this.queueDepth = new Gauge({ name: 'actionclip_queue_depth', help: 'Items waiting per camera and stage', labelNames: ['camera', 'stage'], registers });
    this.cameraState = new Gauge({ name: 'actionclip_camera_state', help: '1 for the current supervision state of each camera', labelNames: ['camera', 'status'], registers });
    this.cameraRestarts = new Counter({ name: 'actionclip_camera_restarts_total', help: 'ffmpeg restarts (exit or stall) per camera', labelNames: ['camera'], registers });
    this.fleetInvalidRecords = new Counter({ name: 'actionclip_fleet_invalid_records_total', help: 'Fleet records (vocabulary, cameras…) that failed validation and were skipped', labelNames: ['topic'], registers });
    this.windows = new Counter({ name: 'actionclip_windows_total', help: 'Scored windows per camera', labelNames: ['camera'], registers });
    this.detections = new Counter({ name: 'actionclip_detections_total', help: 'Detection events (start, update, end)', labelNames: ['kind'], registers });
    this.sinkMessages = new Counter({ name: 'actionclip_sink_messages_total', help: 'Messages delivered per sink', labelNames: ['sink'], registers });
    this.sinkDropped = new Counter({ name: 'actionclip_sink_dropped_total', help: 'Messages a sink dropped (buffer bound exceeded, slow client)', labelNames: ['sink', 'reason'], registers });
    this.sinkBuffered = new Gauge({ name: 'actionclip_sink_buffered', help: 'Messages waiting in a sink buffer', labelNames: ['sink'], registers });
    this.wsClients = new Gauge({ name: 'actionclip_websocket_clients', help: 'Connected WebSocket subscribers', registers });
    this.vocabularyVersion = new Gauge({ name: 'actionclip_vocabulary_version', help: 'Active vocabulary version', registers });
    this.backend = new Gauge({ name: 'actionclip_engine_info', help: 'Engine and backend in use (value 1)', labelNames: ['engine', 'backend'], registers });
    // Read at scrape time: a process-wide count, like the default metrics' file descriptors.
    this.ffmpegProcesses = new Gauge({ name: 'actionclip_ffmpeg_processes', help: 'Running ffmpeg processes of this process (one per camera that is connecting or streaming, plus video-file decodes)', registers, collect() { this.set(openFfmpegProcesses()); } });
    this.vocabularyPending = new Gauge({ name: 'actionclip_vocabulary_updates_pending', help: 'Vocabulary updates waiting behind the one being encoded (at most 1: a newer one supersedes it)', registers });
    this.vocabularySuperseded = new Counter({ name: 'actionclip_vocabulary_updates_superseded_total', help: 'Vocabulary updates never applied because a newer one arrived while they waited', registers });
    this.textCacheLookups = new Counter({ name: 'actionclip_text_cache_lookups_total', help: 'Text-embedding cache lookups by result (hit, miss)', labelNames: ['result'], registers });
    this.textCacheEvictions = new Counter({ name: 'actionclip_text_cache_evictions_total', help: 'Text-embedding cache entries removed to stay under its bound (least recently used first)', registers });
    this.textCacheLimit = new Gauge({ name: 'actionclip_text_cache_limit_bytes', help: 'Bound on the text-embedding cache on disk (textCache.maxMB)', registers });
    this.kafkaConnected = new Gauge({ name: 'actionclip_kafka_connected', help: '1 while a Kafka client (frames, control, detections) is connected, else 0', labelNames: ['component'], registers });
    this.faultsRetried = new Counter({ name: 'actionclip_faults_retried_total', help: 'Retriable faults retried after a back-off, by component and reason', labelNames: ['component', 'reason'], registers });
    this.sinkErrors = new Counter({ name: 'actionclip_sink_errors_total', help: 'Sink write errors by errno code (e.g. ENOSPC); the other sinks go on', labelNames: ['sink', 'code'], registers });
  }

  setCameraState(camera: string, status: CameraStatus): void {
    for (const s of STATUSES) this.cameraState.set({ camera, status: s }, s === status ? 1 : 0);
  }

  /** A removed camera disappears from the gauges rather than staying frozen at its last value. */
  forgetCamera(camera: string): void {
    for (const s of STATUSES) this.cameraState.remove({ camera, status: s });
    for (const stage of ['frames', 'windows']) this.queueDepth.remove({ camera, stage });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
