// The ingest group on a real cameras topic: the latest record of each camera in the assigned
// partitions makes the set (an older record never opens a camera first), a tombstone closes, a
// changed config replaces, a bad record is counted and ignored; two members split the partitions
// and one member's cameras go to the other when it leaves.
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraConfig } from '../../config/schema.js';
import { startCameraAssignment, type CameraAssignment } from '../../src/fleet/camera-assignment.js';
import type { CameraChange } from '../../src/fleet/camera-set.js';
import { Instrumentation } from '../../src/instrumentation/instrumentation.js';
import { createLogger } from '../../src/observability/logger.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';

let broker: KafkaBroker;
let kafka: Kafka;
let producer: Producer;

const cam = (id: string, path = id): CameraConfig => ({ id, url: `rtsp://viewer:hunter2@127.0.0.1:8554/${path}` });

async function put(topic: string, records: Array<[string, unknown]>): Promise<void> {
  await producer.send({ topic, messages: records.map(([key, value]) => ({ key, value: value === null ? null : typeof value === 'string' ? value : JSON.stringify(value) })) });
}

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
  await admin.disconnect();
}

function member(topic: string, groupId: string, o: { instrumentation?: Instrumentation; logs?: string[] } = {}): { a: CameraAssignment; changes: CameraChange[]; ids(): string[] } {
  const changes: CameraChange[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => void o.logs?.push(l) } });
  const a = startCameraAssignment({ kafka, topic, groupId, sessionTimeoutMs: 6000, onChange: (c) => changes.push(c), instrumentation: o.instrumentation, logger });
  return { a, changes, ids: () => a.cameras().map((c) => c.id).sort() };
}

describe('camera assignment (real Kafka)', () => {
  beforeAll(async () => {
    broker = await startKafka();
    kafka = new Kafka({ clientId: 'assignment-test', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await broker?.stop();
  });

  it('opens each camera once with its latest record; tombstone closes, a change replaces, bad records are counted', async () => {
    await createTopic('one.cameras', 3);
    await put('one.cameras', [['a', cam('a', 'old')], ['b', cam('b')], ['a', cam('a', 'new')], ['c', cam('c')], ['d', cam('d')], ['d', null]]);
    const instrumentation = new Instrumentation();
    let malformed = 0;
    instrumentation.on('source.malformed', (e) => void (e.reason === 'camera-record' && malformed++));
    const logs: string[] = [];
    const m = member('one.cameras', 'one-ingest', { instrumentation, logs });
    try {
      await m.a.ready;
      await until('a, b and c', () => m.ids().join() === 'a,b,c');
      expect(m.changes.map((c) => c.kind)).toEqual(['open', 'open', 'open']);
      expect(m.a.cameras().find((c) => c.id === 'a')?.url).toMatch(/\/new$/);

      await put('one.cameras', [['b', null], ['c', cam('c', 'moved')], ['e e', cam('e')], ['f', 'not json'], ['g', cam('h')], ['i', { id: 'i', url: 'gopher://viewer:hunter2@x/y' }]]);
      await until('b closed and c replaced', () => m.changes.length === 5);
      // b and c lie in different partitions: no order between them.
      expect(m.changes.slice(3)).toHaveLength(2);
      expect(m.changes.slice(3)).toEqual(expect.arrayContaining([{ kind: 'close', id: 'b', reason: 'removed' }, { kind: 'replace', camera: cam('c', 'moved') }]));
      await until('four bad records counted', () => malformed === 4);
      // The consumer goes on after them.
      await put('one.cameras', [['j', cam('j')]]);
      await until('j opened', () => m.ids().join() === 'a,c,j');
      expect(logs.join('')).toContain('invalid camera record ignored');
      expect(logs.join('')).not.toContain('hunter2');
    } finally {
      await m.a.stop();
    }
  });

  it('two members split the partitions; the cameras of one that leaves go to the other', async () => {
    await createTopic('two.cameras', 4);
    const ids = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'];
    await put('two.cameras', ids.map((id) => [id, cam(id)]));
    const x = member('two.cameras', 'two-ingest');
    const y = member('two.cameras', 'two-ingest');
    try {
      await Promise.all([x.a.ready, y.a.ready]);
      await until('every camera open once across both', () => [...x.ids(), ...y.ids()].sort().join() === ids.join() && x.ids().length > 0 && y.ids().length > 0);
      const yHad = y.ids();
      await x.a.stop();
      await until('y holds every camera', () => y.ids().join() === ids.join());
      // The cameras y already had were kept through the rebalance, not closed and reopened.
      const closedByY = y.changes.filter((c) => c.kind === 'close').map((c) => (c as { id: string }).id);
      expect(closedByY.filter((id) => yHad.includes(id))).toEqual([]);
      expect(y.changes.filter((c) => c.kind === 'open').map((c) => (c as { camera: CameraConfig }).camera.id).sort()).toEqual(ids);
    } finally {
      await Promise.all([x.a.stop(), y.a.stop()]);
    }
  });
});
