import { describe, expect, it } from 'vitest';
import { BoundedQueues } from '../../src/stages/bounded-queue.js';

const item = (camera: string, seq: number) => ({ camera, seq });

describe('BoundedQueues', () => {
  it('drops the oldest item of a full camera queue and counts it', () => {
    const drops: [string, number][] = [];
    const q = new BoundedQueues<{ camera: string; seq: number }>(3, { onDrop: (c, n) => drops.push([c, n]) });
    for (let s = 1; s <= 5; s++) q.push(item('a', s));
    q.push(item('b', 1));
    expect(q.depth('a')).toBe(3);
    expect(q.depth()).toBe(4);
    expect(q.dropped('a')).toBe(2);
    expect(q.dropped('b')).toBe(0);
    expect(q.dropped()).toBe(2);
    expect(drops).toEqual([['a', 1], ['a', 1]]);
    expect(q.take(10).map((x) => `${x.camera}${x.seq}`)).toEqual(['a3', 'b1', 'a4', 'a5']);
    expect(q.depth()).toBe(0);
  });

  it('takes round-robin across cameras, continuing after the camera served last', () => {
    const q = new BoundedQueues<{ camera: string; seq: number }>(10);
    for (let s = 1; s <= 4; s++) q.push(item('a', s));
    q.push(item('b', 1));
    q.push(item('c', 1));
    q.push(item('c', 2));
    expect(q.take(4).map((x) => `${x.camera}${x.seq}`)).toEqual(['a1', 'b1', 'c1', 'a2']);
    q.push(item('b', 2));
    // a was served last, so b comes first now.
    expect(q.take(3).map((x) => `${x.camera}${x.seq}`)).toEqual(['b2', 'c2', 'a3']);
    expect(q.take(5).map((x) => `${x.camera}${x.seq}`)).toEqual(['a4']);
  });

  it('reports depth and discards a removed camera without counting drops', () => {
    const depths: [string, number][] = [];
    const q = new BoundedQueues<{ camera: string; seq: number }>(2, { onDepth: (c, d) => depths.push([c, d]) });
    q.push(item('a', 1));
    q.push(item('a', 2));
    q.push(item('b', 1));
    expect(q.removeCamera('a')).toBe(2);
    expect(q.dropped()).toBe(0);
    expect(q.depth()).toBe(1);
    expect(q.cameras()).toEqual(['b']);
    expect(depths).toEqual([['a', 1], ['a', 2], ['b', 1], ['a', 0]]);
  });

  it('rejects a capacity below 1', () => {
    expect(() => new BoundedQueues(0)).toThrow(RangeError);
  });
});
