import { Option, type Command } from 'commander';
import { loadConfig } from '../../../config/load.js';
import { startInfer } from '../../../pipelines/infer.js';
import { createLogger } from '../../observability/logger.js';
import { flagsToConfig, untilStopped } from './run.js';

interface InferFlags {
  config?: string;
  kafka?: string;
  weights?: string;
  engine?: string;
  logLevel?: string;
}

/** `actionclip-stream infer`: the fleet's inference role (pipelines/infer.ts). */
export function registerInfer(program: Command): void {
  program
    .command('infer')
    .description('Fleet role: score the frames of the fleet frames topic (consumer group fleet.inferGroupId) and publish windows to the detections topic, exactly once')
    .option('-c, --config <file>', 'YAML configuration (the fleet section names topics and groups); flags override it')
    .option('--kafka <brokers>', 'comma-separated Kafka brokers')
    .addOption(new Option('-w, --weights <path>', 'CLIP weights (.safetensors, directory, ActionCLIP .pt, or a model name)').env('ACTIONCLIP_WEIGHTS'))
    .option('--engine <name>', 'tfjs, onnx, webgpu or auto')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .action(async (flags: InferFlags) => {
      const config = loadConfig({ file: flags.config, overrides: flagsToConfig({ ...flags, camera: [] }) });
      const logger = createLogger({ level: config.logLevel });
      const infer = await startInfer({ config, logger });
      // `infer ready` is logged by the pipeline once the vocabulary is caught up and the group joined.
      const code = await untilStopped(infer, config.shutdown.timeoutSec, logger);
      process.exitCode = code;
      setTimeout(() => process.exit(code), 1000).unref();
    });
}
