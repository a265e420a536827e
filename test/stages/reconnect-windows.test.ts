// A reconnect end to end in virtual time: supervise (which dates the states) feeding the sliding
// windows (which split a camera's frames at a reset state by capture time), the frames a tick late
// as the encoder makes them. The soak of 2026-12-03 lost one window of a restarting camera this way.
import { delay, filter, share, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { isCameraState, type CameraEvent, type FrameSource, type SourceFrame } from '../../src/sources/frame-source.js';
import { supervise } from '../../src/sources/supervise.js';
import { slidingGroups } from '../../src/stages/sliding-windows.js';
import type { CameraState, Frame } from '../../src/types.js';

const supervision = { connectTimeoutSec: 0.05, stallTimeoutSec: 0.05, backoff: { initialMs: 3, maxMs: 3, jitter: 0 } };
const frame = (captureTs: number): SourceFrame => ({ captureTs, width: 1, height: 1, rgb: new Uint8Array(3) });

describe('windows across a reconnect (supervise + slidingGroups)', () => {
  it('the last frames of a connection, dated ahead of its end, complete its window and never join the next connection', () => {
    const windows: number[][] = [];
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    ts.run(({ cold }) => {
      // Connection 1: frames at t=1 and t=3, the second dated 4 (a tick ahead), then the stream ends at t=4.
      // Connection 2 (after 3 ms of back-off, at t=7): frames at t=8 and t=10, dated when they arrive.
      const connections: Array<Observable<SourceFrame>> = [cold('-p-q#', { p: frame(1), q: frame(4) }, new SourceError('end of stream', true)), cold('-r-s', { r: frame(8), s: frame(10) })];
      let n = 0;
      const source: FrameSource = { connect: () => connections[Math.min(n++, 1)]! };
      const events = supervise('cam', source, { supervision, scheduler: ts }).pipe(share());
      const states = events.pipe(filter((e): e is CameraState => isCameraState(e)));
      const frames = events.pipe(
        filter((e: CameraEvent): e is Frame => !isCameraState(e)),
        delay(1, ts), // the encoder: windows see a frame after the state that follows it
      );
      const sub = frames.pipe(slidingGroups({ window: 2, stride: 2, cameraStates: states })).subscribe((g) => windows.push(g.map((f) => f.seq)));
      ts.schedule(() => sub.unsubscribe(), 20);
    });
    // Dated `now` (4), the reconnecting state put frame 1 in the new connection's buffer: its window
    // was lost and [1, 2] joined the two connections.
    expect(windows).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });
});
