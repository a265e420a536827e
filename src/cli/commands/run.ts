import { Option, type Command } from 'commander';
import type { Logger } from 'pino';
import { loadConfig, parseCameraFlag, splitList, type ConfigInput } from '../../../config/load.js';
import { startLive, type LiveHandle } from '../../../pipelines/live.js';
import { ConfigError } from '../../errors.js';
import { headChoices } from '../../heads/registry.js';
import { createLogger } from '../../observability/logger.js';
import { addServerOptions, addTextCacheOptions, numberOrString, serverFlagsToConfig, textCacheFlagsToConfig, type ServerFlags, type TextCacheFlags } from '../flags.js';
import { startupLine } from '../startup-line.js';

interface RunFlags extends TextCacheFlags, ServerFlags {
  config?: string;
  weights?: string;
  fusion?: string;
  head?: string;
  engine?: string;
  quantize?: string;
  backend?: string;
  camera: string[];
  labels?: string;
  vocabulary?: string;
  window?: string;
  stride?: string;
  fps?: string;
  kafka?: string;
  framesTopic?: string;
  detectionsTopic?: string;
  controlTopic?: string;
  groupId?: string;
  jsonl?: string;
  preview?: boolean;
  logLevel?: string;
}

const num = numberOrString;

/** Flags to the config's shape; only given flags appear (they override the YAML file). */
export function flagsToConfig(f: RunFlags): ConfigInput {
  if (f.head !== undefined && /^(joint|shift)$/i.test(f.head.trim())) {
    throw new ConfigError(`--head ${f.head}: Joint and Shift mix a window's frames inside the image encoder, so live windows cannot share frame embeddings; use ${headChoices()} for run, or classify for Joint/Shift`);
  }
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
    quantize: f.quantize,
    backend: f.backend,
    cameras: f.camera.length > 0 ? f.camera.map(parseCameraFlag) : undefined,
    labels: f.labels === undefined ? undefined : splitList(f.labels),
    vocabulary: f.vocabulary,
    textCache: textCacheFlagsToConfig(f),
    window: num(f.window),
    stride: num(f.stride),
    fps: num(f.fps),
    ...serverFlagsToConfig(f),
    kafka: anyKafka ? kafka : undefined,
    jsonl: f.jsonl,
    preview: f.preview === true ? { enabled: true } : undefined,
    logLevel: f.logLevel,
  };
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

export function registerRun(program: Command): void {
  const run = program
    .command('run')
    .description('Watch live cameras (and/or a Kafka frames topic) and publish actions over WebSocket, Kafka and JSONL')
    .option('-c, --config <file>', 'YAML configuration (see config/example.yaml); flags override it')
    // The env variable lets a container image run a mounted model with its default command.
    .addOption(new Option('-w, --weights <path>', 'CLIP weights (.safetensors, directory, ActionCLIP .pt, or a model name such as vit-b-32, pulled on first use)').env('ACTIONCLIP_WEIGHTS'))
    .option('--fusion <path>', 'temporal head weights (fusion-*.safetensors)')
    .option('--head <name>', `temporal head: ${headChoices()} (not Joint or Shift: they mix a window's frames inside the image encoder, so live windows cannot share frame embeddings; classify takes them)`)
    .option('--engine <name>', 'tfjs, onnx, webgpu or auto (webgpu: Dawn; on a software adapter only with ACTIONCLIP_WEBGPU_ALLOW_SOFTWARE=1)')
    .option('--quantize <mode>', 'none or int8 (ONNX engine: 8-bit matmul weights, about twice the frames/s on a CPU)')
    .option('--backend <name>', 'tfjs backend or ONNX execution provider')
    .option('--camera <ID=URL>', 'a camera (repeatable), e.g. door=rtsp://user:pass@10.0.0.5/stream', collect, [])
    .option('-l, --labels <list>', 'comma-separated labels, e.g. "walking,running,falling down"')
    .option('--vocabulary <file|preset>', 'labels file (.txt/.csv/.json/.yaml) or preset name (config/vocabularies)')
    .option('--window <n>', 'frames per window: 8, 16 or 32')
    .option('--stride <n>', 'frames between windows')
    .option('--fps <f>', 'frames sampled per second per camera')
    .option('--kafka <brokers>', 'comma-separated Kafka brokers')
    .option('--frames-topic <topic>', 'consume frames from this Kafka topic')
    .option('--detections-topic <topic>', 'publish windows and detections to this Kafka topic')
    .option('--control-topic <topic>', 'consume vocabulary changes from this Kafka topic')
    .option('--group-id <id>', 'Kafka consumer group of the frames consumer (workers sharing it split partitions)')
    .option('--jsonl <path>', "write every message as JSON lines to a file, or '-' for stdout")
    .option('--preview', 'relay camera previews as MPEG1 over WebSocket (node-rtsp-stream)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent');
  addTextCacheOptions(addServerOptions(run))
    .action(async (flags: RunFlags) => {
      const config = loadConfig({ file: flags.config, overrides: flagsToConfig(flags) });
      const logger = createLogger({ level: config.logLevel });
      const live = await startLive({ config, logger });
      // The message alone: on a terminal, fields would add lines below the one line this is meant to be.
      logger.info(startupLine(config, live.engine, live.url));
      const code = await untilStopped(live, config.shutdown.timeoutSec, logger);
      process.exitCode = code;
      // Everything was released; a handle some library left open must not keep the process up.
      setTimeout(() => process.exit(code), 1000).unref();
    });
}

/**
 * Waits for SIGTERM/SIGINT (then stops gracefully: 0) or a fatal error (already logged, once: 1).
 * Past `timeoutSec` the process exits 1 anyway, and says so; a second signal exits at once (130).
 */
export function untilStopped(live: Pick<LiveHandle, 'stop' | 'failed'>, timeoutSec: number, logger: Logger): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (exitCode: number): void => {
      stopping = true;
      const limit = setTimeout(() => {
        logger.error({ timeoutSec }, 'shutdown took longer than shutdown.timeoutSec; exiting now');
        process.exit(1);
      }, timeoutSec * 1000);
      limit.unref();
      void live.stop().then(() => resolve(exitCode));
    };
    // The listeners stay: removing one may drop a signal already caught for it.
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) process.exit(130);
      logger.info({ signal, timeoutSec }, 'shutting down: finishing the windows in flight');
      stop(0);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    void live.failed.then(() => stop(1));
  });
}
