import type { Command } from 'commander';
import { loadConfig, splitList, type ConfigInput } from '../../config/load.js';
import type { Config, KafkaConfig } from '../../config/schema.js';
import { ConfigError } from '../errors.js';

/** The flags every fleet role (`topics`, `ingest`, `infer`, `gateway`) takes. */
export interface FleetFlags {
  config?: string;
  kafka?: string;
  logLevel?: string;
}

export function addFleetOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'YAML configuration (its kafka and fleet sections; see config/example.yaml); flags override it')
    .option('--kafka <brokers>', 'comma-separated Kafka brokers (kafka.brokers)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent');
}

/** The configuration of a fleet role that loads no model; Kafka is required. `overrides`: the role's own flags. */
export function loadFleetConfig(flags: FleetFlags, role: string, overrides: ConfigInput = {}): Config & { kafka: KafkaConfig } {
  const config = loadConfig({
    file: flags.config,
    noModel: role,
    overrides: { ...overrides, kafka: flags.kafka === undefined ? undefined : { brokers: splitList(flags.kafka) }, logLevel: flags.logLevel },
  });
  if (config.kafka === undefined) throw new ConfigError(`${role} needs Kafka: give --kafka host:port or a kafka section in the configuration`);
  return config as Config & { kafka: KafkaConfig };
}
