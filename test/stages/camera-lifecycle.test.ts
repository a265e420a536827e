// One table over every camera state and every stage that reads the lifecycle policy, driving the
// real operators: what a state does to queued frames, window buffers and open events.
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CAMERA_LIFECYCLE } from '../../src/stages/camera-lifecycle.js';
import { embedFrames } from '../../src/stages/embed-frames.js';
import { slidingWindows } from '../../src/stages/sliding-windows.js';
import { trackEvents } from '../../src/stages/track-events.js';
import type { Detection } from '../../src/detections/schema.js';
import { CAMERA_STATUSES, type CameraState, type CameraStatus, type Frame, type FrameEmbedding, type Window, type WindowResult } from '../../src/types.js';
import { DeterministicEngine, frame, seqPixels } from '../support/deterministic-engine.js';
import { record, VirtualTime } from '../support/virtual-time.js';

const state = (status: CameraStatus, since: number): CameraState => ({ camera: 'a', status, since, attempt: 0 });

/** Frames queued behind a busy engine, then the state: how many of the queued ones got encoded. */
async function queuedFramesEncoded(status: CameraStatus): Promise<number> {
  const vt = new VirtualTime();
  const engine = new DeterministicEngine({ scheduler: vt.scheduler, latencyMs: 50 });
  const frames = new Subject<Frame>();
  const states = new Subject<CameraState>();
  const out = record(vt, frames.pipe(embedFrames(engine, { maxBatch: 2, maxWaitMs: 5, queueCapacity: 8, scheduler: vt.scheduler, preprocess: seqPixels(), cameraStates: states })));
  for (let seq = 0; seq < 6; seq++) frames.next(frame('a', seq, seq)); // 0,1 in flight; 2..5 queued
  states.next(state(status, 10));
  frames.complete();
  await vt.runAll();
  return out.values.filter(({ v }) => v.seq >= 2).length;
}

/** W-1 frames, the state, one more frame: whether that frame completed a window of the old ones. */
function windowSpansState(status: CameraStatus): boolean {
  const src = new Subject<FrameEmbedding>();
  const states = new Subject<CameraState>();
  const out: Window[] = [];
  const sub = src.pipe(slidingWindows({ window: 3, stride: 1, cameraStates: states })).subscribe((w) => out.push(w));
  const emb = (seq: number, ts: number): FrameEmbedding => ({ camera: 'a', seq, captureTs: ts, embedding: new Float32Array([seq]) });
  src.next(emb(0, 0));
  src.next(emb(1, 100));
  states.next(state(status, 150));
  src.next(emb(2, 200));
  sub.unsubscribe();
  return out.length === 1;
}

/** An event active on camera a, then the state: whether the event ended. */
function eventEndedBy(status: CameraStatus): boolean {
  const src = new Subject<WindowResult>();
  const states = new Subject<CameraState>();
  const out: Detection[] = [];
  const sub = src.pipe(trackEvents({ model: 'm', cameraStates: states, updateEvery: 0 })).subscribe((d) => out.push(d));
  const result = (i: number): WindowResult => ({ camera: 'a', windowStart: i * 500, windowEnd: i * 500 + 1000, frames: 8, topk: [{ label: 'run', score: 0.9 }], scores: new Float32Array([0.9]), labels: ['run'], vocabularyVersion: 1 });
  src.next(result(0));
  src.next(result(1));
  expect(out.map((d) => d.type)).toEqual(['start']);
  states.next(state(status, 2000));
  sub.unsubscribe();
  return out.some((d) => d.type === 'end');
}

describe('camera lifecycle policy, every state through every stage', () => {
  it('covers every camera state', () => {
    expect(Object.keys(CAMERA_LIFECYCLE).sort()).toEqual([...CAMERA_STATUSES].sort());
  });

  it.each(CAMERA_STATUSES.map((s) => [s, CAMERA_LIFECYCLE[s]] as const))('%s: %j', async (status, effect) => {
    expect(await queuedFramesEncoded(status)).toBe(effect.discardQueuedFrames ? 0 : 4);
    expect(windowSpansState(status)).toBe(!effect.resetWindows);
    expect(eventEndedBy(status)).toBe(effect.endEvents);
  });

  it('is the behaviour the service had before the policy was written down', () => {
    const table = Object.fromEntries(CAMERA_STATUSES.map((s) => [s, Object.entries(CAMERA_LIFECYCLE[s]).filter(([, v]) => v).map(([k]) => k)]));
    expect(table).toEqual({
      connecting: ['resetWindows'],
      streaming: [],
      stalled: [],
      reconnecting: ['resetWindows', 'endEvents'],
      // Added with issue 15: reconnecting after many failures in a row, the same effects.
      failed: ['resetWindows', 'endEvents'],
      stopped: ['discardQueuedFrames', 'resetWindows', 'endEvents'],
    });
  });
});
