import { describe, expect, it } from 'vitest';
import { CameraStates } from '../../src/stages/camera-states.js';
import type { CameraState, CameraStatus } from '../../src/types.js';

const s = (camera: string, status: CameraStatus, since = 0): CameraState => ({ camera, status, since, attempt: 0 });

describe('CameraStates', () => {
  it('replays the current state of every camera to a late subscriber, then every change', () => {
    const states = new CameraStates();
    states.next(s('a', 'connecting'));
    states.next(s('a', 'streaming', 1));
    states.next(s('b', 'reconnecting', 2));
    const seen: string[] = [];
    const sub = states.states$.subscribe((x) => seen.push(`${x.camera}:${x.status}`));
    expect(seen).toEqual(['a:streaming', 'b:reconnecting']);
    states.next(s('b', 'streaming', 3));
    expect(seen).toEqual(['a:streaming', 'b:reconnecting', 'b:streaming']);
    sub.unsubscribe();
  });

  it('announces a stopped camera to current subscribers and forgets it for later ones', () => {
    const states = new CameraStates();
    states.next(s('a', 'streaming'));
    const early: string[] = [];
    states.states$.subscribe((x) => early.push(x.status));
    states.next(s('a', 'stopped', 5));
    expect(early).toEqual(['streaming', 'stopped']);
    const late: CameraState[] = [];
    states.states$.subscribe((x) => late.push(x));
    expect(late).toEqual([]);
    expect(states.current()).toEqual([]);
  });
});
