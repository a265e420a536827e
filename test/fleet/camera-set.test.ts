// The camera set of one ingest process as assignments and records arrive (no broker: the order of
// events is chosen here, including the ones a broker rarely produces).
import { describe, expect, it } from 'vitest';
import { AssignedCameras, type CameraChange } from '../../src/fleet/camera-set.js';

const cam = (id: string, path = id) => ({ id, url: `rtsp://127.0.0.1:8554/${path}` });

function setUp(): { set: AssignedCameras; changes: CameraChange[] } {
  const changes: CameraChange[] = [];
  return { set: new AssignedCameras((c) => changes.push(c)), changes };
}

describe('AssignedCameras', () => {
  it('applies a partition only once read to the end it had when assigned; an empty partition is done at once', () => {
    const { set, changes } = setUp();
    set.assign([0, 1]);
    set.endOffsets(1, 0n, 0n);
    set.record(0, 0n, 'a', cam('a', 'v1'));
    set.record(0, 1n, 'b', cam('b'));
    set.record(0, 2n, 'a', cam('a', 'v2'));
    expect(changes).toEqual([]);
    set.endOffsets(0, 0n, 4n);
    expect(changes).toEqual([]); // offset 3 not seen yet
    set.progress(0, 3n); // kafkajs skipped it (a control record)
    expect(changes).toEqual([{ kind: 'open', camera: cam('a', 'v2') }, { kind: 'open', camera: cam('b') }]);
    expect(set.settled).toBe(true);
    // Live records from then on apply at once.
    set.record(1, 0n, 'c', cam('c'));
    set.record(0, 4n, 'b', null);
    expect(changes.slice(2)).toEqual([{ kind: 'open', camera: cam('c') }, { kind: 'close', id: 'b', reason: 'removed' }]);
  });

  it('a rebalance keeps the cameras of kept partitions open while they are re-read, closes lost ones at once', () => {
    const { set, changes } = setUp();
    set.assign([0, 1]);
    set.record(0, 0n, 'a', cam('a'));
    set.record(1, 0n, 'b', cam('b'));
    set.endOffsets(0, 0n, 1n);
    set.endOffsets(1, 0n, 1n);
    changes.length = 0;
    set.assign([0]);
    expect(changes).toEqual([{ kind: 'close', id: 'b', reason: 'unassigned' }]);
    expect(set.cameras()).toEqual([cam('a')]);
    // The re-read brings the same record: nothing to do; a changed one is a replace.
    set.record(0, 0n, 'a', cam('a'));
    set.endOffsets(0, 0n, 1n);
    expect(changes).toHaveLength(1);
    set.assign([0]);
    set.record(0, 0n, 'a', { url: cam('a').url, id: 'a' }); // same config, other key order
    set.record(0, 1n, 'a', cam('a', 'moved'));
    set.endOffsets(0, 0n, 2n);
    expect(changes.slice(1)).toEqual([{ kind: 'replace', camera: cam('a', 'moved') }]);
  });

  it('ignores records of partitions it no longer holds', () => {
    const { set, changes } = setUp();
    set.assign([0]);
    set.endOffsets(0, 0n, 0n);
    set.record(3, 7n, 'x', cam('x'));
    expect(changes).toEqual([]);
  });
});
