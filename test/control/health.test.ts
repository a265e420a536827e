// /health's verdict from cameras, Kafka links and sink backlogs (the pure part; the live abuse test
// checks it on real unreachable cameras).
import { describe, expect, it } from 'vitest';
import type { CameraInfo } from '../../src/control/camera-registry.js';
import { assessHealth, SinkBacklog } from '../../src/control/health.js';
import { Instrumentation } from '../../src/instrumentation/instrumentation.js';

const cam = (id: string, status: NonNullable<CameraInfo['state']>['status'], attempt = 0, reason?: string): CameraInfo => ({
  id,
  url: `rtsp://h/${id}`,
  state: { camera: id, status, since: 0, attempt, ...(reason === undefined ? {} : { reason }) },
});

describe('assessHealth', () => {
  it('is ok while cameras stream or make their first connection, with nothing else to say', () => {
    expect(assessHealth({ cameras: [cam('a', 'streaming'), cam('b', 'connecting')], connections: {}, sinks: [] })).toEqual({ status: 'ok', cameras: { streaming: 1, connecting: 1 } });
    // A bare service answers as it always did.
    expect(assessHealth({ cameras: [], connections: {}, sinks: [] })).toEqual({ status: 'ok' });
  });

  it('names each degraded component with its reason', () => {
    const h = assessHealth({
      cameras: [cam('a', 'streaming'), cam('b', 'reconnecting', 3, 'Connection refused'), cam('c', 'stalled', 0, 'no frame for 3s'), cam('d', 'stopped', 0, 'bad url')],
      connections: { 'kafka-detections': { status: 'disconnected', since: 'then', error: 'ECONNREFUSED' }, 'kafka-frames': { status: 'connected', since: 'then' } },
      sinks: [
        { sink: 'kafka', buffered: 6000, limit: 10_000, droppedRecently: 0 },
        { sink: 'jsonl', buffered: 0, droppedRecently: 4 },
        { sink: 'websocket', buffered: 0, droppedRecently: 0 },
      ],
    });
    expect(h.status).toBe('degraded');
    expect(h.cameras).toEqual({ streaming: 1, reconnecting: 1, stalled: 1, stopped: 1 });
    expect(h.degraded).toEqual([
      { component: 'camera', id: 'b', reason: 'reconnecting (attempt 3): Connection refused', since: new Date(0).toISOString() },
      { component: 'camera', id: 'c', reason: 'stalled: no frame for 3s', since: new Date(0).toISOString() },
      { component: 'camera', id: 'd', reason: 'stopped: bad url', since: new Date(0).toISOString() },
      { component: 'kafka', id: 'kafka-detections', reason: 'disconnected: ECONNREFUSED', since: 'then' },
      { component: 'sink', id: 'kafka', reason: 'behind: 6000 of 10000 messages buffered' },
      { component: 'sink', id: 'jsonl', reason: 'dropped 4 messages lately (0 buffered)' },
    ]);
  });
});

describe('SinkBacklog', () => {
  it('follows depth and limit, forgets drops after the window, ignores shutdown and slow-client drops', () => {
    let now = 1_000_000;
    const inst = new Instrumentation();
    const backlog = new SinkBacklog(inst, { recentMs: 60_000, now: () => now });
    inst.emit('sink.buffered', { sink: 'kafka', depth: 7, limit: 100 });
    inst.emit('sink.dropped', { sink: 'kafka', reason: 'buffer_full', count: 3 });
    inst.emit('sink.dropped', { sink: 'kafka', reason: 'buffer_full', count: 2 });
    inst.emit('sink.dropped', { sink: 'websocket', reason: 'slow_client', count: 50 });
    inst.emit('sink.dropped', { sink: 'kafka', reason: 'shutdown', count: 9 });
    expect(backlog.view()).toEqual([{ sink: 'kafka', buffered: 7, limit: 100, droppedRecently: 5 }]);
    now += 61_000;
    expect(backlog.view()).toEqual([{ sink: 'kafka', buffered: 7, limit: 100, droppedRecently: 0 }]);
    // One entry per second at most: a drop storm does not grow the record.
    for (let i = 0; i < 10_000; i++) inst.emit('sink.dropped', { sink: 'kafka', reason: 'buffer_full', count: 1 });
    expect(backlog.view()[0]!.droppedRecently).toBe(10_000);
    backlog.close();
  });
});
