// The fleet's topics on a real KRaft broker: created with the configured partitions and
// cleanup.policy, idempotently and by two callers at once; the check names every difference; the
// `topics` CLI exits 1 with the list, 0 with "ok".
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../config/defaults.js';
import type { FleetConfig } from '../../config/schema-fleet.js';
import { checkFleetTopics, ensureFleetTopics, fleetTopicSpecs } from '../../src/fleet/topics.js';
import { REPO_ROOT } from '../support/fixtures.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';

const BIN = path.join(REPO_ROOT, 'bin', 'actionclip-stream.js');
let broker: KafkaBroker;
let admin: Admin;

/** The default fleet section with its topic names under `prefix` and small partition counts. */
function fleet(prefix: string): FleetConfig {
  return {
    ...DEFAULTS.fleet,
    topics: { frames: `${prefix}.frames`, cameras: `${prefix}.cameras`, states: `${prefix}.states`, vocabulary: `${prefix}.vocabulary`, detections: `${prefix}.detections` },
    partitions: { frames: 3, cameras: 4, states: 2, vocabulary: 1, detections: 2 },
  };
}

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'topics', ...args], { cwd: REPO_ROOT, env: { ...process.env, ACTIONCLIP_FROM_SOURCE: '1' } });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('fleet topics (real Kafka)', () => {
  beforeAll(async () => {
    broker = await startKafka();
    admin = new Kafka({ clientId: 'topics-test', brokers: [broker.brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
    await broker?.stop();
  });

  it('creates the missing topics with their partitions and policies, once, also when two callers race', async () => {
    const specs = fleetTopicSpecs(fleet('race'));
    expect(await checkFleetTopics(admin, specs)).toHaveLength(5);
    const other = new Kafka({ clientId: 'topics-test-2', brokers: [broker.brokers], logLevel: logLevel.NOTHING }).admin();
    await other.connect();
    try {
      const [a, b] = await Promise.all([ensureFleetTopics(admin, specs), ensureFleetTopics(other, specs)]);
      // Each caller names what it found missing; neither fails because the other created it first.
      expect(a.length).toBeGreaterThan(0);
      expect(b.length).toBeGreaterThan(0);
    } finally {
      await other.disconnect();
    }
    expect(await checkFleetTopics(admin, specs)).toEqual([]);
    expect(await ensureFleetTopics(admin, specs)).toEqual([]);
    const meta = await admin.fetchTopicMetadata({ topics: ['race.cameras', 'race.frames'] });
    expect(Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]))).toEqual({ 'race.cameras': 4, 'race.frames': 3 });
  });

  it('names a missing topic, a wrong partition count and a topic that should be compacted but is not', async () => {
    const specs = fleetTopicSpecs(fleet('off'));
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: 'off.frames', numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
        { topic: 'off.cameras', numPartitions: 4 },
        { topic: 'off.states', numPartitions: 5, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
        { topic: 'off.vocabulary', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }] },
      ],
    });
    const problems = await checkFleetTopics(admin, specs);
    expect(problems.sort()).toEqual([
      'topic off.cameras has cleanup.policy=delete, expected compact',
      'topic off.detections (fleet.topics.detections) is missing',
      'topic off.frames has cleanup.policy=compact, expected delete',
      'topic off.states has 5 partitions, fleet.partitions.states says 2',
      'topic off.vocabulary has cleanup.policy=compact,delete, expected compact',
    ]);
  });

  it('topics --check exits 1 listing the mismatches; --create creates and says ok; --check then exits 0', async () => {
    const configFile = path.join(broker.dir, 'cli.json');
    writeFileSync(configFile, JSON.stringify({ fleet: { topics: fleet('cli').topics, partitions: fleet('cli').partitions }, logLevel: 'warn' }));
    const before = await cli(['--check', '--config', configFile, '--kafka', broker.brokers]);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain('topic cli.cameras (fleet.topics.cameras) is missing');
    const created = await cli(['--create', '--config', configFile, '--kafka', broker.brokers]);
    expect(created).toMatchObject({ code: 0 });
    expect(created.stdout).toMatch(/created .*cli\.cameras[\s\S]*\nok\n$/);
    expect(await cli(['--check', '--config', configFile, '--kafka', broker.brokers])).toEqual({ code: 0, stdout: 'ok\n' });
  });
});
