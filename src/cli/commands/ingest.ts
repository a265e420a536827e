import type { Command } from 'commander';
import { startIngest } from '../../../pipelines/ingest.js';
import { createLogger } from '../../observability/logger.js';
import { addFleetOptions, loadFleetConfig, type FleetFlags } from '../fleet-flags.js';

export function registerIngest(program: Command): void {
  const ingest = program
    .command('ingest')
    .description("Fleet ingest role: open the cameras the ingest group assigns this process (cameras topic) and publish their sampled frames and states to Kafka");
  addFleetOptions(ingest).action(async (flags: FleetFlags) => {
    const config = loadFleetConfig(flags, 'ingest');
    const logger = createLogger({ level: config.logLevel });
    let stop: (() => Promise<void>) | undefined;
    let stopping = false;
    // The listeners stay: removing one may drop a signal already caught for it.
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping || stop === undefined) process.exit(stopping ? 130 : 0); // a second signal, or nothing started yet
      stopping = true;
      logger.info({ signal }, 'shutting down: closing the cameras, delivering the buffered frames');
      const limit = setTimeout(() => (logger.error('shutdown took longer than shutdown.timeoutSec; exiting now'), process.exit(1)), config.shutdown.timeoutSec * 1000 + 5000);
      limit.unref();
      void stop().then(() => process.exit(0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const handle = await startIngest({ config, logger });
    stop = () => handle.stop();
    await handle.ready;
    logger.info({ groupId: config.fleet.ingestGroupId, topic: config.fleet.topics.cameras }, 'ingest ready');
  });
}
