// What the page makes of /ws messages: tiles, open events, timeline events and their score curves.
import { describe, expect, it } from 'vitest';
import { lanes, LiveStore } from '../../web/live-store.js';
import type { DetectionMessage, EventMessage } from '../../web/messages.js';

const win = (camera: string, end: number, topk: Array<[string, number]>): DetectionMessage => ({
  type: 'window',
  camera,
  label: topk[0]![0],
  score: topk[0]![1],
  topk: topk.map(([label, score]) => ({ label, score })),
  windowStart: end - 1000,
  windowEnd: end,
  vocabularyVersion: 1,
});
const ev = (type: EventMessage['type'], label: string, eventStart: number, end: number): EventMessage => ({ type, camera: 'cam1', label, score: 0.7, topk: [], windowStart: end - 1000, windowEnd: end, vocabularyVersion: 1, eventStart });

describe('LiveStore', () => {
  it('tiles follow windows, states and the camera list; Kafka cameras stay; removed ones go', () => {
    const s = new LiveStore();
    s.setCameras([{ id: 'cam1', url: 'rtsp://h/1' }]);
    expect(s.receive(win('cam1', Date.now(), [['run', 0.8]]))).toBe(false);
    expect(s.cameras.get('cam1')!.topk).toEqual([{ label: 'run', score: 0.8 }]);
    expect(s.receive(win('kafka-cam', Date.now(), [['run', 0.8]]))).toBe(true);
    s.setCameras([{ id: 'cam1', url: 'rtsp://h/1' }]);
    expect([...s.cameras.keys()]).toEqual(['cam1', 'kafka-cam']);
    s.receive({ type: 'camera', camera: 'cam1', state: { status: 'stalled', since: 1 } });
    expect(s.cameras.get('cam1')!.status).toBe('stalled');
    expect(s.receive({ type: 'camera', camera: 'cam1', state: { status: 'stopped', since: 2, reason: 'removed' } })).toBe(false);
    expect([...s.cameras.keys()]).toEqual(['kafka-cam']);
    // A window still in flight after the removal does not bring the tile back; adding the id again does.
    expect(s.receive(win('cam1', Date.now() + 1, [['run', 0.8]]))).toBe(false);
    expect(s.cameras.has('cam1')).toBe(false);
    expect(s.receive({ type: 'camera', camera: 'cam1', state: { status: 'connecting', since: 3 } })).toBe(true);
    expect(s.cameras.get('cam1')!.status).toBe('connecting');
  });

  it('events open and close; the score curve is the label in each window between them, gaps where it left the top labels', () => {
    const s = new LiveStore();
    const t0 = Date.now() - 10_000;
    s.receive(win('cam1', t0, [['run', 0.6]]));
    s.receive(ev('start', 'run', t0 - 1000, t0));
    expect(s.cameras.get('cam1')!.open.has('run')).toBe(true);
    s.receive(win('cam1', t0 + 1000, [['jump', 0.9]]));
    s.receive(win('cam1', t0 + 2000, [['run', 0.7]]));
    s.receive(ev('end', 'run', t0 - 1000, t0 + 2000));
    s.receive(win('cam1', t0 + 3000, [['run', 0.9]]));
    expect(s.cameras.get('cam1')!.open.size).toBe(0);
    const [only] = [...s.events.values()];
    expect(only).toMatchObject({ camera: 'cam1', label: 'run', start: t0 - 1000, end: t0 + 2000, last: { type: 'end' } });
    expect(s.curve(only!)).toEqual({ t: [t0 / 1000, (t0 + 1000) / 1000, (t0 + 2000) / 1000], score: [0.6, null, 0.7] });
  });

  it('overlapping events take separate lanes, later ones reuse a free lane', () => {
    const e = (key: string, start: number, end?: number) => ({ key, camera: 'c', label: key, start, end, last: ev('start', key, start, start) });
    const placed = lanes([e('a', 0, 10), e('b', 5, 20), e('c', 12, 15), e('d', 21)], 100);
    expect(placed.map(([x, lane]) => `${x.key}${lane}`)).toEqual(['a0', 'b1', 'c0', 'd0']);
  });
});
