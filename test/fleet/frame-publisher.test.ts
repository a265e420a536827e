// Frames to a real broker: headers per FLEET_FRAME_HEADERS, JPEG that decodes back with the frame
// consumer's own decoder, raw RGB byte for byte, and gapless numbering across a broker outage
// (frames beyond the per-camera bound are dropped before they are numbered, and counted).
import { Kafka, logLevel, type IHeaders, type KafkaMessage } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { FramePublisher } from '../../src/fleet/frame-publisher.js';
import { FLEET_FRAME_HEADERS } from '../../src/fleet/records.js';
import { Instrumentation } from '../../src/instrumentation/instrumentation.js';
import { decodeFrameMessage } from '../../src/sources/kafka-frames.js';
import type { Frame } from '../../src/types.js';
import { startKafka, type KafkaBroker } from '../../harness/kafka-broker.js';
import { freePort } from '../../harness/processes.js';

const W = 32, H = 24, T0 = Date.parse('2026-01-01T00:00:00Z');
let broker: KafkaBroker | undefined;

/** A smooth gradient (JPEG keeps it within a few levels), shifted by `i`. */
function frame(camera: string, i: number): Frame {
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rgb.set([(x * 8 + i) % 256, y * 10, 128], (y * W + x) * 3);
  return { camera, seq: i, captureTs: T0 + i * 250, width: W, height: H, rgb };
}

const header = (h: IHeaders | undefined, name: string): string => String(h?.[name]);

async function readAll(kafka: Kafka, topic: string, count: number): Promise<KafkaMessage[]> {
  const got: KafkaMessage[] = [];
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message) });
  const end = Date.now() + 60_000;
  while (got.length < count && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  return got;
}

describe('FramePublisher (real Kafka)', () => {
  afterAll(async () => {
    await broker?.stop();
  });

  it('numbers without gaps across an outage: frames past the bound are dropped before numbering, and counted', async () => {
    const port = await freePort();
    const kafka = new Kafka({ clientId: 'publisher-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 1 } });
    const instrumentation = new Instrumentation();
    let dropped = 0;
    instrumentation.on('queue.dropped', (e) => void (e.stage === 'publish' && (dropped += e.count)));
    const publisher = new FramePublisher({ kafka, topic: 'outage.frames', format: 'rgb', jpegQuality: 90, bufferFrames: 3, instrumentation });
    try {
      const session = publisher.openSession('door');
      const accepted = [0, 1, 2, 3, 4].map((i) => publisher.publish(frame('door', i), 'streaming'));
      expect(accepted).toEqual([true, true, true, false, false]);
      expect(dropped).toBe(2);
      expect(publisher.buffered('door')).toBe(3);
      // The broker comes (on the port the producer keeps trying).
      broker = await startKafka({ brokerPort: port });
      expect(await publisher.flush(60_000)).toBe(0);
      expect([5, 6].map((i) => publisher.publish(frame('door', i), 'streaming'))).toEqual([true, true]);
      expect(await publisher.flush(30_000)).toBe(0);
      const got = await readAll(kafka, 'outage.frames', 5);
      expect(got.map((m) => header(m.headers, FLEET_FRAME_HEADERS.seq))).toEqual(['0', '1', '2', '3', '4']);
      // The frames kept are the ones taken before the drops and after them.
      expect(got.map((m) => Number(header(m.headers, FLEET_FRAME_HEADERS.ts)))).toEqual([0, 1, 2, 5, 6].map((i) => T0 + i * 250));
      expect(new Set(got.map((m) => header(m.headers, FLEET_FRAME_HEADERS.session)))).toEqual(new Set([session]));
      // Raw RGB goes byte for byte.
      expect(Buffer.compare(got[3]!.value!, Buffer.from(frame('door', 5).rgb))).toBe(0);
    } finally {
      await publisher.close();
    }
  });

  it('JPEG frames carry every header and decode back with decodeFrameMessage; a new session numbers from 0', async () => {
    const kafka = new Kafka({ clientId: 'publisher-test', brokers: [broker!.brokers], logLevel: logLevel.NOTHING });
    const publisher = new FramePublisher({ kafka, topic: 'jpeg.frames', format: 'jpeg', jpegQuality: 90, bufferFrames: 64 });
    try {
      const first = publisher.openSession('yard');
      for (let i = 0; i < 4; i++) publisher.publish(frame('yard', i), i === 0 ? 'connecting' : 'streaming');
      publisher.endSession('yard');
      expect(publisher.publish(frame('yard', 9), 'streaming')).toBe(false); // no session: not sent
      const second = publisher.openSession('yard');
      expect(second).not.toBe(first);
      publisher.publish(frame('yard', 4), 'streaming');
      expect(await publisher.flush(30_000)).toBe(0);
      const got = await readAll(kafka, 'jpeg.frames', 5);
      expect(got.map((m) => [header(m.headers, FLEET_FRAME_HEADERS.session), header(m.headers, FLEET_FRAME_HEADERS.seq)])).toEqual([
        [first, '0'], [first, '1'], [first, '2'], [first, '3'], [second, '0'],
      ]);
      const m = got[1]!;
      expect(m.key!.toString()).toBe('yard');
      expect({ w: header(m.headers, 'width'), h: header(m.headers, 'height'), f: header(m.headers, 'format'), s: header(m.headers, 'state') }).toEqual({ w: String(W), h: String(H), f: 'jpeg', s: 'streaming' });
      expect(header(got[0]!.headers, 'state')).toBe('connecting');
      expect(m.value!.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8])); // a JPEG, far smaller than raw
      expect(m.value!.length).toBeLessThan(W * H * 3);
      const decoded = await decodeFrameMessage(m);
      expect(decoded).toMatchObject({ camera: 'yard', width: W, height: H, captureTs: T0 + 250 });
      const original = frame('yard', 1).rgb;
      const worst = decoded.rgb.reduce((mx, v, i) => Math.max(mx, Math.abs(v - original[i]!)), 0);
      expect(worst).toBeLessThan(40);
    } finally {
      await publisher.close();
    }
  });
});
