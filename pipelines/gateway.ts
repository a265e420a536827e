/**
 * The fleet's gateway role (docs/scale-out.md): the HTTP API and the WebSocket hub of a fleet.
 *
 *   cameras, camera-states, vocabulary topics (compacted, from the beginning) ─▶ FleetControlPlane
 *   camera-states ─┬▶ fanOut ─▶ WebSocket hub, recent events (/events)
 *   detections ────┘   (read committed, from the end, private group: every gateway sees everything)
 *   HTTP POST/DELETE /cameras, PUT /vocabulary ─▶ FleetControlPlane ─▶ cameras / vocabulary topics
 *
 * The API listens first (/health and /ready answer while the broker is away); the topics are
 * created and read in the background, and `ready` resolves once all of them are caught up.
 */
import type { Logger } from 'pino';
import { resolveVocabulary } from '../config/load.js';
import type { Config, KafkaConfig } from '../config/schema.js';
import { startApiServer } from '../src/control/api-server.js';
import { LiveView } from '../src/control/live-view.js';
import { readCompactedTopic } from '../src/fleet/compacted-reader.js';
import { createFleetTopics } from '../src/fleet/create-topics.js';
import { startDetectionsRelay } from '../src/fleet/detections-relay.js';
import { FleetControlPlane } from '../src/fleet/fleet-control.js';
import { FleetWriter } from '../src/fleet/fleet-writer.js';
import { Instrumentation } from '../src/instrumentation/instrumentation.js';
import { ResourceStack } from '../src/lifecycle/resource-stack.js';
import { createLogger } from '../src/observability/logger.js';
import { Metrics } from '../src/observability/metrics.js';
import { observeMetrics } from '../src/observability/metrics-observer.js';
import { fanOut } from '../src/sinks/fan-out.js';
import type { WebSocketHub } from '../src/sinks/websocket-hub.js';
import { connectKafka } from '../src/sources/kafka-client.js';

export interface GatewayOptions {
  readonly config: Config & { kafka: KafkaConfig };
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly instrumentation?: Instrumentation;
}

export interface GatewayHandle {
  readonly port: number;
  /** `http://host:port` (`https://` with TLS). */
  readonly url: string;
  readonly control: FleetControlPlane;
  readonly hub: WebSocketHub;
  readonly metrics: Metrics;
  /** Resolves once the topics exist, the tables are read up to where they were at start and detections are followed. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/** The configured vocabulary, if any: what infer processes use as version 0 while the topic is empty. */
function configuredVocabulary(config: Config, log: Logger): { labels: string[]; templates?: string[] } | undefined {
  if (config.labels === undefined && config.vocabulary === undefined) return undefined;
  try {
    return resolveVocabulary(config);
  } catch (err) {
    log.warn({ err }, 'the configured vocabulary cannot be read; GET /vocabulary answers 503 until a version is written');
    return undefined;
  }
}

export async function startGateway(opts: GatewayOptions): Promise<GatewayHandle> {
  const { config } = opts;
  const { fleet } = config;
  const log = opts.logger ?? createLogger({ level: config.logLevel });
  const metrics = opts.metrics ?? new Metrics();
  const instrumentation = opts.instrumentation ?? new Instrumentation();
  const resources = new ResourceStack(log);
  resources.defer(observeMetrics(instrumentation, metrics), (off) => off());
  let stopped = false;
  try {
    const kafka = await connectKafka(config.kafka, log);
    const writer = resources.defer(new FleetWriter({ kafka, instrumentation, logger: log }), (w) => w.close());
    const view = new LiveView({ ...config.dashboardHistory, topk: config.topk });
    const initialVocabulary = configuredVocabulary(config, log);
    const control = new FleetControlPlane({ writer, topics: fleet.topics, urlPolicy: config.security.cameraUrls, maxCameras: config.security.limits.maxCameras, initialVocabulary, view, instrumentation, logger: log });
    const api = resources.defer(await startApiServer({ config, control, metrics, greeting: () => control.greeting(), instrumentation, logger: log }), (a) => a.close());
    const publish = fanOut([api.hub, view], { instrumentation });

    const follow = async (): Promise<void> => {
      if (!(await createFleetTopics(kafka, fleet, log, () => stopped))) return;
      const common = { kafka, groupIdPrefix: `${config.kafka.groupId}-gateway`, instrumentation, logger: log };
      const reader = (role: 'cameras' | 'states' | 'vocabulary', component: 'kafka-cameras' | 'kafka-states' | 'kafka-vocabulary', onRecord: Parameters<typeof readCompactedTopic>[0]['onRecord']) => {
        const r = resources.defer(readCompactedTopic({ ...common, topic: fleet.topics[role], role, component, onRecord }), (x) => x.stop());
        return r.ready.then(() => control.markCaughtUp(role));
      };
      const detections = resources.defer(startDetectionsRelay({ ...common, topic: fleet.topics.detections, publish }), (d) => d.stop());
      await Promise.all([
        reader('cameras', 'kafka-cameras', (k, v, at) => control.applyCameraRecord(k, v, at)),
        reader('states', 'kafka-states', (k, v, at) => {
          const m = control.applyStateRecord(k, v, at);
          if (m !== undefined) publish(m);
        }),
        reader('vocabulary', 'kafka-vocabulary', (k, v, at) => control.applyVocabularyRecord(k, v, at)),
        detections.ready.then(() => control.markCaughtUp('detections')),
      ]);
    };
    const ready = follow();
    ready.catch((err: unknown) => log.error({ err }, 'the gateway could not follow the fleet topics'));
    const stop = async (): Promise<void> => {
      stopped = true;
      control.beginShutdown();
      await resources.close();
    };
    return { port: api.port, url: api.url, control, hub: api.hub, metrics, ready, stop };
  } catch (err) {
    await resources.close();
    throw err;
  }
}
