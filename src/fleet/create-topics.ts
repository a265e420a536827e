/**
 * Every role creates the fleet's missing topics at start (docs/scale-out.md), waiting out a broker
 * that is not there yet: a role started before its broker comes up on its own once it is.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { FleetConfig } from '../../config/schema-fleet.js';
import { backoffDelay } from '../lifecycle/backoff.js';
import { ensureFleetTopics, fleetTopicSpecs } from './topics.js';

/** Resolves once the topics exist (true), or once `cancelled()` says to give up (false). */
export async function createFleetTopics(kafka: Kafka, fleet: FleetConfig, log: Logger, cancelled: () => boolean): Promise<boolean> {
  const admin = kafka.admin();
  try {
    for (let attempt = 1; !cancelled(); attempt++) {
      try {
        await admin.connect();
        const created = await ensureFleetTopics(admin, fleetTopicSpecs(fleet));
        if (created.length > 0) log.info({ created }, 'created fleet topics');
        return true;
      } catch (err) {
        log.warn({ err, attempt }, 'could not create the fleet topics yet; retrying');
        await new Promise((r) => setTimeout(r, backoffDelay(attempt, { initialMs: 500, maxMs: 10_000, jitter: 0.2 })));
      }
    }
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
