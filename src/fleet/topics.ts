/**
 * The fleet's topics (docs/scale-out.md, src/fleet/records.ts): what each role expects to exist,
 * creating what is missing, and a check that names every way an existing topic differs.
 */
import type { Admin, ConfigResourceTypes } from 'kafkajs';
import type { FleetConfig, FleetTopics } from '../../config/schema-fleet.js';

export interface FleetTopicSpec {
  readonly name: string;
  /** Which of `fleet.topics` this is. */
  readonly role: keyof FleetTopics;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configEntries: ReadonlyArray<{ readonly name: string; readonly value: string }>;
}

/** kafkajs' ConfigResourceTypes.TOPIC (a CommonJS enum Node's ESM loader does not see as a named export). */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

/** Topics whose latest record per key is the state (the camera set, camera states, the vocabulary). */
const COMPACTED: ReadonlySet<keyof FleetTopics> = new Set(['cameras', 'states', 'vocabulary']);

export function fleetTopicSpecs(fleet: FleetConfig): FleetTopicSpec[] {
  return (Object.keys(fleet.topics) as Array<keyof FleetTopics>).map((role) => ({
    name: fleet.topics[role],
    role,
    partitions: fleet.partitions[role],
    replicationFactor: fleet.replicationFactor,
    configEntries: [{ name: 'cleanup.policy', value: COMPACTED.has(role) ? 'compact' : 'delete' }],
  }));
}

/**
 * Creates the topics that do not exist yet; an existing topic is left as it is (`checkFleetTopics`
 * reports how it differs). Safe when several processes start at once: a topic another process
 * created in between counts as created. Returns the names this call created.
 */
export async function ensureFleetTopics(admin: Admin, specs: readonly FleetTopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length === 0) return [];
  // kafkajs returns false (no throw) when every topic it was asked for already exists.
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((s) => ({ topic: s.name, numPartitions: s.partitions, replicationFactor: s.replicationFactor, configEntries: s.configEntries.map((e) => ({ ...e })) })),
  });
  return missing.map((s) => s.name);
}

/** Every difference between the topics as they are and `specs`, one readable line each (empty: all fine). */
export async function checkFleetTopics(admin: Admin, specs: readonly FleetTopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const present = specs.filter((s) => existing.has(s.name));
  const problems = specs.filter((s) => !existing.has(s.name)).map((s) => `topic ${s.name} (fleet.topics.${s.role}) is missing`);
  if (present.length === 0) return problems;
  const { topics } = await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({ type: TOPIC_RESOURCE, name: s.name, configNames: s.configEntries.map((e) => e.name) })),
  });
  for (const spec of present) {
    const partitions = topics.find((t) => t.name === spec.name)?.partitions ?? [];
    // More partitions than asked for is not a fault for the roles, but fewer caps the parallelism; both are reported.
    if (partitions.length !== spec.partitions) problems.push(`topic ${spec.name} has ${partitions.length} partitions, fleet.partitions.${spec.role} says ${spec.partitions}`);
    const replicas = Math.min(...partitions.map((p) => p.replicas.length));
    if (partitions.length > 0 && replicas < spec.replicationFactor) problems.push(`topic ${spec.name} has ${replicas} replicas, fleet.replicationFactor says ${spec.replicationFactor}`);
    const entries = configs.resources.find((r) => r.resourceName === spec.name)?.configEntries ?? [];
    for (const want of spec.configEntries) {
      const got = entries.find((e) => e.configName === want.name)?.configValue;
      if (!policyMatches(want, got)) problems.push(`topic ${spec.name} has ${want.name}=${got ?? '(unknown)'}, expected ${want.value}`);
    }
  }
  return problems;
}

/**
 * Exact: `compact,delete` on a compacted topic would expire the camera set or the vocabulary after
 * the retention time, and any compaction on frames or detections would keep only a key's last record.
 */
function policyMatches(want: { name: string; value: string }, got: string | undefined): boolean {
  return got !== undefined && got.split(',').map((p) => p.trim()).sort().join(',') === want.value;
}
