import type { Command } from 'commander';
import { startGateway, type GatewayHandle } from '../../../pipelines/gateway.js';
import { createLogger } from '../../observability/logger.js';
import { redactUrl } from '../../sources/redact.js';
import { addServerOptions, serverFlagsToConfig, type ServerFlags } from '../flags.js';
import { addFleetOptions, loadFleetConfig, type FleetFlags } from '../fleet-flags.js';

/** The line a gateway logs once it listens; tests and people read the API URL from it. */
export function gatewayStartupLine(brokers: readonly string[], url: string): string {
  return `gateway: Kafka ${brokers.map(redactUrl).join(',')}; dashboard ${url}/, API ${url}, detections on ${url.replace(/^http/, 'ws')}/ws`;
}

export function registerGateway(program: Command): void {
  const gateway = program
    .command('gateway')
    .description('Fleet gateway role: the HTTP API and WebSocket of a fleet; relays detections and camera states from Kafka, writes camera and vocabulary changes to it (loads no model)');
  addServerOptions(addFleetOptions(gateway)).action(async (flags: FleetFlags & ServerFlags) => {
    const config = loadFleetConfig(flags, 'gateway', serverFlagsToConfig(flags));
    const logger = createLogger({ level: config.logLevel });
    let handle: GatewayHandle | undefined;
    let stopping = false;
    // The listeners stay: removing one may drop a signal already caught for it.
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping || handle === undefined) process.exit(stopping ? 130 : 0); // a second signal, or nothing started yet
      stopping = true;
      logger.info({ signal }, 'shutting down');
      const limit = setTimeout(() => (logger.error('shutdown took longer than shutdown.timeoutSec; exiting now'), process.exit(1)), config.shutdown.timeoutSec * 1000);
      limit.unref();
      void handle.stop().then(() => process.exit(0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    handle = await startGateway({ config, logger });
    logger.info(gatewayStartupLine(config.kafka.brokers, handle.url));
    try {
      await handle.ready;
    } catch {
      // Already logged by the pipeline; a gateway that cannot follow the fleet must not look alive.
      await handle.stop();
      process.exit(1);
    }
    logger.info({ topics: config.fleet.topics }, 'gateway ready');
  });
}
