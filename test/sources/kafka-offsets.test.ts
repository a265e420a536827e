import { describe, expect, it } from 'vitest';
import { FrameOffsets } from '../../src/sources/kafka-offsets.js';

describe('FrameOffsets (at-least-once commits of Kafka frames)', () => {
  it('commits past a frame only once a window starting after it was delivered', () => {
    const o = new FrameOffsets();
    // Camera a: frames at ts 0..9 on offsets 100..109 (window 8, stride 4 -> windows start at 0 and 4).
    for (let i = 0; i < 10; i++) o.consumed(0, String(100 + i), { camera: 'a', captureTs: i });
    expect(o.commits()).toEqual([{ partition: 0, offset: '100' }]); // nothing delivered: the first frame is still needed
    expect(o.commits()).toEqual([]); // unchanged: nothing to commit again
    o.delivered('a', 0); // window [0..7]: frames 0..7 are in the next window (starts at 4) from 4 on
    expect(o.commits()).toEqual([]);
    o.delivered('a', 4);
    expect(o.commits()).toEqual([{ partition: 0, offset: '104' }]);
    expect(o.pending).toBe(6);
  });

  it('a dead-lettered message is done at once; cameras sharing a partition hold it back together', () => {
    const o = new FrameOffsets();
    o.consumed(1, '0', { camera: 'a', captureTs: 10 });
    o.consumed(1, '1'); // malformed
    o.consumed(1, '2', { camera: 'b', captureTs: 10 });
    o.consumed(1, '3', { camera: 'a', captureTs: 20 });
    o.delivered('a', 20);
    expect(o.commits()).toEqual([{ partition: 1, offset: '2' }]); // b's frame still needed
    o.delivered('b', 11);
    expect(o.commits()).toEqual([{ partition: 1, offset: '3' }]);
  });

  it('offers a failed commit again, and forgets partitions that moved to another worker', () => {
    const o = new FrameOffsets();
    o.consumed(0, '5');
    o.consumed(1, '7', { camera: 'a', captureTs: 1 });
    const first = o.commits();
    expect(first).toEqual([{ partition: 0, offset: '6' }, { partition: 1, offset: '7' }]);
    o.retryCommits(first.slice(0, 1));
    expect(o.commits()).toEqual([{ partition: 0, offset: '6' }]);
    o.forget((p) => p === 0);
    o.delivered('a', 5);
    expect(o.commits()).toEqual([]);
    expect(o.pending).toBe(0);
  });

  it('a camera that stopped holds its partition back, but memory stays bounded by the frames still needed', () => {
    const o = new FrameOffsets();
    for (let i = 0; i < 3; i++) o.consumed(0, String(i), { camera: 'gone', captureTs: i }); // never completes a window
    for (let i = 3; i < 10_003; i++) {
      o.consumed(0, String(i), { camera: 'live', captureTs: i });
      if (i % 4 === 3 && i >= 10) o.delivered('live', i - 7);
    }
    expect(o.commits()).toEqual([{ partition: 0, offset: '0' }]);
    expect(o.pending).toBeLessThan(20);
  });
});

