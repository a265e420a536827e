import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { checkFleetTopics, ensureFleetTopics, fleetTopicSpecs } from '../../fleet/topics.js';
import { createLogger } from '../../observability/logger.js';
import { connectKafka } from '../../sources/kafka-client.js';
import { addFleetOptions, loadFleetConfig, type FleetFlags } from '../fleet-flags.js';

interface TopicsFlags extends FleetFlags {
  check?: boolean;
  create?: boolean;
}

export function registerTopics(program: Command): void {
  const topics = program
    .command('topics')
    .description("Check (--check) or create (--create) the fleet's Kafka topics: partitions, replication and cleanup.policy from the fleet section")
    .option('--check', 'list every topic that is missing or differs from the configuration; exit 1 if any')
    .option('--create', 'create the missing topics (existing ones are left as they are), then check');
  addFleetOptions(topics).action(async (flags: TopicsFlags) => {
    if (flags.check !== true && flags.create !== true) throw new ConfigError('topics: give --check or --create');
    const config = loadFleetConfig(flags, 'topics');
    const logger = createLogger({ level: config.logLevel });
    const admin = (await connectKafka(config.kafka, logger)).admin();
    await admin.connect();
    try {
      const specs = fleetTopicSpecs(config.fleet);
      if (flags.create === true) {
        const created = await ensureFleetTopics(admin, specs);
        process.stdout.write(created.length === 0 ? 'no topic missing\n' : `created ${created.join(', ')}\n`);
      }
      const problems = await checkFleetTopics(admin, specs);
      process.stdout.write(problems.length === 0 ? 'ok\n' : `${problems.join('\n')}\n`);
      process.exitCode = problems.length === 0 ? 0 : 1;
    } finally {
      await admin.disconnect();
    }
  });
}
