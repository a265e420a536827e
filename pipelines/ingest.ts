/**
 * The fleet's ingest role (docs/scale-out.md): cameras in, frames out.
 *
 *   cameras topic ─▶ camera assignment (consumer group) ─▶ IngestCameras (supervised sources)
 *       ─▶ FramePublisher ─▶ frames topic          camera states ─▶ states topic
 *
 * `stop()` closes the cameras, leaves the group (their partitions go to the other ingest
 * processes), and delivers what is buffered.
 */
import type { Logger } from 'pino';
import type { Config, KafkaConfig } from '../config/schema.js';
import { startCameraAssignment } from '../src/fleet/camera-assignment.js';
import { FramePublisher } from '../src/fleet/frame-publisher.js';
import { IngestCameras } from '../src/fleet/ingest-cameras.js';
import { createFleetTopics } from '../src/fleet/create-topics.js';
import { Instrumentation } from '../src/instrumentation/instrumentation.js';
import { ResourceStack } from '../src/lifecycle/resource-stack.js';
import { createLogger } from '../src/observability/logger.js';
import { cameraStateEvent } from '../src/sinks/fan-out.js';
import { KafkaDetectionsSink } from '../src/sinks/kafka-detections.js';
import { cameraFrames } from '../src/sources/camera-source.js';
import { resolveFfmpeg } from '../src/sources/ffmpeg-path.js';
import { connectKafka } from '../src/sources/kafka-client.js';

export interface IngestOptions {
  readonly config: Config & { kafka: KafkaConfig };
  readonly logger?: Logger;
  readonly instrumentation?: Instrumentation;
  readonly ffmpegPath?: string;
  /** Aborts a start that still waits for the broker (a signal before the process was ready). */
  readonly signal?: AbortSignal;
}

export interface IngestHandle {
  /** Resolves once the process joined the ingest group. */
  readonly ready: Promise<void>;
  /** Ids of the cameras this process has open. */
  cameras(): string[];
  stop(): Promise<void>;
}

export async function startIngest(opts: IngestOptions): Promise<IngestHandle> {
  const { config } = opts;
  const log = opts.logger ?? createLogger({ level: config.logLevel });
  const instrumentation = opts.instrumentation ?? new Instrumentation();
  const resources = new ResourceStack(log);
  try {
    const kafka = await connectKafka(config.kafka, log);
    await createFleetTopics(kafka, config.fleet, log, () => opts.signal?.aborted === true);
    const { fleet } = config;
    const publisher = resources.defer(new FramePublisher({ kafka, topic: fleet.topics.frames, format: fleet.frameFormat, jpegQuality: fleet.jpegQuality, bufferFrames: fleet.ingestBufferFrames, instrumentation, logger: log }), (p) => p.close(config.shutdown.timeoutSec * 1000));
    const states = resources.defer(new KafkaDetectionsSink({ kafka, topic: fleet.topics.states, component: 'kafka-states', bufferSize: config.kafka.producerBufferSize, instrumentation, logger: log }), (s) => s.close());
    const ffmpegPath = opts.ffmpegPath ?? resolveFfmpeg().path;
    const cameraOptions = { fps: config.fps, width: config.decode.width, height: config.decode.height, tuning: config.decode, ffmpegPath, supervision: config.supervision, logger: log };
    const cameras = new IngestCameras({ open: (c) => cameraFrames(c, cameraOptions), publisher, states: (s) => states.publish(cameraStateEvent(s)), instrumentation, logger: log });
    const assignment = resources.defer(
      startCameraAssignment({ kafka, topic: fleet.topics.cameras, groupId: fleet.ingestGroupId, sessionTimeoutMs: config.kafka.sessionTimeoutMs, onChange: (c) => cameras.apply(c), instrumentation, logger: log }),
      (a) => a.stop(),
    );
    // Released first: the sources stop before the group is left and the buffers are flushed.
    resources.defer(cameras, (c) => c.closeAll());
    return {
      ready: assignment.ready,
      cameras: () => cameras.ids(),
      stop: () => resources.close(),
    };
  } catch (err) {
    await resources.close();
    throw err;
  }
}
