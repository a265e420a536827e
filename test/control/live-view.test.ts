import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { LiveView } from '../../src/control/live-view.js';
import { windowRecordBytes } from '../../src/control/recent-history.js';
import { scoreEmbedding } from '../../src/model/scoring.js';
import { vocabularyFromEmbeddings } from '../../src/control/vocabulary-store.js';
import type { OutputEvent } from '../../src/sinks/events.js';
import type { Frame, VideoEmbedding } from '../../src/types.js';

const frame = (camera: string, seq: number, value: number): Frame => ({ camera, seq, captureTs: 1000 + seq, width: 8, height: 6, rgb: new Uint8Array(8 * 6 * 3).fill(value) });
const LIMITS = { windowsPerCamera: 50, eventsPerCamera: 20, topk: 5 };
const scored = (camera: string, windowEnd: number, labels: string[]) => {
  const topk = labels.map((label, i) => ({ label, score: 0.9 - i / 10 + windowEnd / 1e9 }));
  return { schema: 1, camera, label: topk[0]!.label, score: topk[0]!.score, topk, windowStart: windowEnd - 1750, windowEnd, frames: 8, vocabularyVersion: 3, model: 'ViT-B-16+Transf' };
};
// As windowMessage + stampLatency + toOutput write them.
const win = (camera: string, windowEnd: number, labels: string[]): OutputEvent => {
  const { schema, ...rest } = scored(camera, windowEnd, labels);
  const m = { schema, type: 'window', ...rest, latencyMs: 123.5 };
  return { kind: 'window', camera, labels, score: m.score, captureTs: windowEnd, windowStart: m.windowStart, json: JSON.stringify(m) };
};
const event = (kind: 'start' | 'update' | 'end', camera: string, label: string, eventStart: number, windowEnd: number): OutputEvent => {
  const m = { type: kind, ...scored(camera, windowEnd, [label]), eventStart, latencyMs: 10 };
  return { kind, camera, labels: [label], captureTs: windowEnd, json: JSON.stringify(m) };
};
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = (): number => (gc(), process.memoryUsage().heapUsed);
const window = (camera: string, embedding: number[]): VideoEmbedding => ({ camera, start: 1, end: 2, firstSeq: 0, frames: 8, embedding: Float32Array.from(embedding) });

describe('LiveView', () => {
  it("serves each camera's newest frame as a JPEG, encoded once per frame, and forgets removed cameras", async () => {
    const view = new LiveView(LIMITS);
    expect(view.snapshot('cam1')).toBeUndefined();
    view.keepFrame(frame('cam1', 1, 10));
    view.keepFrame(frame('cam1', 2, 200));
    const first = view.snapshot('cam1')!;
    expect(view.snapshot('cam1')).toBe(first);
    const shot = await first;
    expect(shot.captureTs).toBe(1002);
    const decoded = await sharp(shot.jpeg).raw().toBuffer({ resolveWithObject: true });
    expect(decoded.info).toMatchObject({ width: 8, height: 6, format: 'raw' });
    expect(Math.abs(decoded.data[0]! - 200)).toBeLessThan(8);
    view.keepFrame(frame('cam1', 3, 50));
    expect(view.snapshot('cam1')).not.toBe(first);
    view.forget('cam1');
    expect(view.snapshot('cam1')).toBeUndefined();
  });

  it("scores each camera's newest window against a draft exactly as the live scoring would", () => {
    const view = new LiveView(LIMITS);
    const draft = vocabularyFromEmbeddings({ version: 0, labels: ['a', 'b', 'c'], templates: ['{}'], textEmbeddings: Float32Array.from([1, 0, 0, 1, 1, 1]) });
    view.keepWindow(window('cam1', [0, 5]));
    view.keepWindow(window('cam1', [3, 0]));
    view.keepWindow(window('cam2', [1, 1]));
    const scores = view.score(draft, 2);
    expect(scores.map((s) => s.camera)).toEqual(['cam1', 'cam2']);
    const expected = scoreEmbedding(Float32Array.from([3, 0]), draft);
    expect(scores[0]!.scores.map((s) => s.score)).toEqual(Array.from(expected));
    expect(scores[0]!.topk.map((s) => s.label)).toEqual(['a', 'c']);
    expect(scores[1]!.topk[0]!.label).toBe('c');
  });

  it('answers GET /events with windows as published and the newest message of each event, oldest first', async () => {
    const view = new LiveView(LIMITS);
    const now = 10_000_000;
    const published = [win('cam1', now - 5000, ['walk', 'run']), event('start', 'cam1', 'walk', now - 4500, now - 4500), win('cam2', now - 4000, ['sit']), event('update', 'cam1', 'walk', now - 4500, now - 3500), win('cam1', now - 3000, ['run', 'walk'])];
    view.publish(win('cam1', now - 3 * 60 * 60 * 1000, ['old']));
    view.publish({ kind: 'camera', camera: 'cam1', labels: [], json: '{"type":"camera"}' });
    for (const e of published) view.publish(e);
    // The update replaced its event's start; the window of 3 h ago is past the 2 hours served.
    const expected = [published[0], published[2], published[3], published[4]].map((e) => e!.json);
    expect(view.recentJson(0, now)).toBe(`[${expected.join(',')}]`);
    expect(JSON.parse(view.recentJson(now - 3200, now))).toEqual([JSON.parse(published[4]!.json)]);
    await view.close();
    expect(view.recentJson(0, now)).toBe('[]');
  });

  it('holds a bounded number of windows and events per camera however long it runs', () => {
    const view = new LiveView(LIMITS);
    const now = 10_000_000;
    for (let i = 0; i < 1000; i++) {
      for (const cam of ['cam1', 'cam2']) {
        // A label never seen before every window: vocabularies change for weeks.
        view.publish(win(cam, now + i, [`label${i}`, 'walk']));
        view.publish(event(i % 2 === 0 ? 'start' : 'end', cam, `label${i >> 1}`, now + (i >> 1), now + i));
      }
    }
    expect(view.historyStats()).toEqual({ cameras: 2, windowSlots: 2 * LIMITS.windowsPerCamera, events: 2 * LIMITS.eventsPerCamera, labels: LIMITS.windowsPerCamera + 1 });
    const kept = JSON.parse(view.recentJson(0, now + 1000)) as Array<{ type: string; camera: string; windowEnd: number; topk?: Array<{ label: string }> }>;
    const windows = kept.filter((m) => m.type === 'window' && m.camera === 'cam1');
    expect(windows.map((m) => m.windowEnd)).toEqual(Array.from({ length: LIMITS.windowsPerCamera }, (_, i) => now + 1000 - LIMITS.windowsPerCamera + i));
    expect(windows.at(-1)!.topk!.map((t) => t.label)).toEqual(['label999', 'walk']);
    expect(kept.filter((m) => m.type !== 'window' && m.camera === 'cam2')).toHaveLength(LIMITS.eventsPerCamera);
    view.forget('cam1');
    view.forget('cam2');
    // Interned labels go with the last window that named them.
    expect(view.historyStats()).toEqual({ cameras: 0, windowSlots: 0, events: 0, labels: 0 });
  });

  it('allocates a camera\'s window history at its first window: the heap does not grow as windows arrive', () => {
    const limits = { windowsPerCamera: 7200, eventsPerCamera: 10, topk: 5 };
    const view = new LiveView(limits);
    const labels = ['walk', 'run', 'sit', 'stand', 'wave'];
    const feed = (from: number, to: number): void => {
      for (let i = from; i < to; i++) for (const cam of ['a', 'b', 'c', 'd']) view.publish(win(cam, i * 1000, labels));
    };
    feed(0, 1);
    const first = heapAfterGc();
    feed(1, 7200);
    const grown = heapAfterGc() - first;
    // 4 cameras x 7200 windows were ~28 MiB as published messages; here the 2.7 MiB of typed arrays came with the first window.
    expect(grown).toBeLessThan(1 << 20);
    expect(4 * limits.windowsPerCamera * windowRecordBytes(limits.topk)).toBeLessThan(3 << 20);
  });
});
