import type { Command } from 'commander';
import { loadConfig, parseCameraFlag, splitList, type ConfigInput } from '../../../config/load.js';
import { startLive } from '../../../pipelines/live.js';
import { createLogger } from '../../observability/logger.js';

interface RunFlags {
  config?: string;
  weights?: string;
  fusion?: string;
  head?: string;
  engine?: string;
  backend?: string;
  camera: string[];
  labels?: string;
  vocabulary?: string;
  window?: string;
  stride?: string;
  fps?: string;
  port?: string;
  host?: string;
  kafka?: string;
  framesTopic?: string;
  detectionsTopic?: string;
  controlTopic?: string;
  groupId?: string;
  jsonl?: string;
  preview?: boolean;
  logLevel?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** Numbers stay strings when they are not numbers, so zod reports them against the right key. */
const num = (v: string | undefined): unknown => (v === undefined ? undefined : Number.isNaN(Number(v)) ? v : Number(v));

/** Flags to the config's shape; only given flags appear (they override the YAML file). */
export function flagsToConfig(f: RunFlags): ConfigInput {
  const kafka: ConfigInput = {
    brokers: f.kafka === undefined ? undefined : splitList(f.kafka),
    framesTopic: f.framesTopic,
    detectionsTopic: f.detectionsTopic,
    controlTopic: f.controlTopic,
    groupId: f.groupId,
  };
  const anyKafka = Object.values(kafka).some((v) => v !== undefined);
  return {
    weights: f.weights,
    fusion: f.fusion,
    head: f.head,
    engine: f.engine,
    backend: f.backend,
    cameras: f.camera.length > 0 ? f.camera.map(parseCameraFlag) : undefined,
    labels: f.labels === undefined ? undefined : splitList(f.labels),
    vocabulary: f.vocabulary,
    window: num(f.window),
    stride: num(f.stride),
    fps: num(f.fps),
    port: num(f.port),
    host: f.host,
    kafka: anyKafka ? kafka : undefined,
    jsonl: f.jsonl,
    preview: f.preview === true ? { enabled: true } : undefined,
    logLevel: f.logLevel,
    security: f.tlsCert === undefined && f.tlsKey === undefined ? undefined : { tls: { cert: f.tlsCert, key: f.tlsKey } },
  };
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Watch live cameras (and/or a Kafka frames topic) and publish actions over WebSocket, Kafka and JSONL')
    .option('-c, --config <file>', 'YAML configuration (see config/example.yaml); flags override it')
    .option('-w, --weights <path>', 'CLIP weights (.safetensors, directory or ActionCLIP .pt)')
    .option('--fusion <path>', 'temporal head weights (fusion-*.safetensors)')
    .option('--head <name>', 'meanP, Conv_1D, LSTM, Transf or Transf_cls')
    .option('--engine <name>', 'tfjs, onnx or auto')
    .option('--backend <name>', 'tfjs backend or ONNX execution provider')
    .option('--camera <ID=URL>', 'a camera (repeatable), e.g. door=rtsp://user:pass@10.0.0.5/stream', collect, [])
    .option('-l, --labels <list>', 'comma-separated labels, e.g. "walking,running,falling down"')
    .option('--vocabulary <file|preset>', 'labels file (.txt/.csv/.json/.yaml) or preset name (config/vocabularies)')
    .option('--window <n>', 'frames per window: 8, 16 or 32')
    .option('--stride <n>', 'frames between windows')
    .option('--fps <f>', 'frames sampled per second per camera')
    .option('--port <n>', 'HTTP API / WebSocket port (0 = any free port)')
    .option('--host <addr>', 'HTTP bind address')
    .option('--kafka <brokers>', 'comma-separated Kafka brokers')
    .option('--frames-topic <topic>', 'consume frames from this Kafka topic')
    .option('--detections-topic <topic>', 'publish windows and detections to this Kafka topic')
    .option('--control-topic <topic>', 'consume vocabulary changes from this Kafka topic')
    .option('--group-id <id>', 'Kafka consumer group of the frames consumer (workers sharing it split partitions)')
    .option('--jsonl <path>', "write every message as JSON lines to a file, or '-' for stdout")
    .option('--preview', 'relay camera previews as MPEG1 over WebSocket (node-rtsp-stream)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--tls-cert <file>', 'serve HTTPS and WSS with this certificate (PEM; security.tls.cert; re-read on SIGHUP)')
    .option('--tls-key <file>', 'private key of --tls-cert (PEM; security.tls.key)')
    .action(async (flags: RunFlags) => {
      const config = loadConfig({ file: flags.config, overrides: flagsToConfig(flags) });
      const logger = createLogger({ level: config.logLevel });
      const live = await startLive({ config, logger });
      logger.info({ url: live.url }, 'actionclip-stream running');
      // Exit 0 after a signal; 1 when the pipeline stopped on a fatal error (already logged).
      process.exitCode = await new Promise<number>((resolve) => {
        const shutdown = (signal: string): void => {
          logger.info({ signal }, 'shutting down');
          // A second signal while stopping means "now".
          process.once(signal, () => process.exit(130));
          void live.stop().then(() => resolve(0));
        };
        process.once('SIGINT', () => shutdown('SIGINT'));
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        void live.failed.then(() => live.stop().then(() => resolve(1)));
      });
    });
}
