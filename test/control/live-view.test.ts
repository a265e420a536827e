import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { LiveView } from '../../src/control/live-view.js';
import { scoreEmbedding } from '../../src/model/scoring.js';
import { vocabularyFromEmbeddings } from '../../src/control/vocabulary-store.js';
import type { OutputEvent } from '../../src/sinks/events.js';
import type { Frame, VideoEmbedding } from '../../src/types.js';

const frame = (camera: string, seq: number, value: number): Frame => ({ camera, seq, captureTs: 1000 + seq, width: 8, height: 6, rgb: new Uint8Array(8 * 6 * 3).fill(value) });
const out = (kind: OutputEvent['kind'], captureTs: number): OutputEvent => ({ kind, camera: 'cam1', labels: [], captureTs, json: JSON.stringify({ type: kind, windowEnd: captureTs }) });
const window = (camera: string, embedding: number[]): VideoEmbedding => ({ camera, start: 1, end: 2, firstSeq: 0, frames: 8, embedding: Float32Array.from(embedding) });

describe('LiveView', () => {
  it("serves each camera's newest frame as a JPEG, encoded once per frame, and forgets removed cameras", async () => {
    const view = new LiveView();
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
    const view = new LiveView();
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

  it('keeps recent windows and events (not camera states) for pages that open later', async () => {
    const view = new LiveView();
    const now = 10_000_000;
    view.publish(out('window', now - 3 * 60 * 60 * 1000));
    view.publish(out('start', now - 5000));
    view.publish(out('camera', now - 4000));
    view.publish(out('window', now - 3000));
    expect(JSON.parse(view.recentJson(0, now))).toEqual([
      { type: 'start', windowEnd: now - 5000 },
      { type: 'window', windowEnd: now - 3000 },
    ]);
    expect(JSON.parse(view.recentJson(now - 4000, now))).toEqual([{ type: 'window', windowEnd: now - 3000 }]);
    for (let i = 0; i < 30_000; i++) view.publish(out('window', now + i));
    const kept = JSON.parse(view.recentJson(0, now)) as Array<{ windowEnd: number }>;
    expect(kept).toHaveLength(20_000);
    expect(kept.at(-1)!.windowEnd).toBe(now + 29_999);
    await view.close();
    expect(view.recentJson(0, now)).toBe('[]');
  });
});
