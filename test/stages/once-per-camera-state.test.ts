import { defer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { cameraMessage } from '../../src/detections/messages.js';
import type { Detection } from '../../src/detections/schema.js';
import { EngineError } from '../../src/errors.js';
import { oncePerCameraState } from '../../src/stages/once-per-camera-state.js';
import { retryRetriable } from '../../src/stages/retry-retriable.js';
import type { CameraState } from '../../src/types.js';

const state = (camera: string, status: CameraState['status'], since: number): Detection => cameraMessage({ camera, status, since, attempt: 0 });
const m: Record<string, Detection> = {
  a: state('door', 'streaming', 10),
  b: state('yard', 'connecting', 11),
  s: state('door', 'stopped', 20),
  n: state('door', 'connecting', 30),
  w: { schema: 1, type: 'window', camera: 'door', windowStart: 0, windowEnd: 1, frames: 8, vocabularyVersion: 1, model: 'x', topk: [] } as unknown as Detection,
};

describe('oncePerCameraState', () => {
  it('drops a camera state already passed, keeps every other message', () => {
    new TestScheduler((x, y) => expect(x).toEqual(y)).run(({ cold, expectObservable }) => {
      expectObservable(cold('a-w-a-b-w-b-a|', m).pipe(oncePerCameraState())).toBe('a-w---b-w----|', m);
    });
  });

  it('forgets a stopped camera, so a camera added again under its id is announced', () => {
    new TestScheduler((x, y) => expect(x).toEqual(y)).run(({ cold, expectObservable }) => {
      expectObservable(cold('a-s-a-n|', m).pipe(oncePerCameraState())).toBe('a-s-a-n|', m);
    });
  });

  it('after a retriable restart the replayed states are not published again', () => {
    new TestScheduler((x, y) => expect(x).toEqual(y)).run(({ cold, expectObservable }) => {
      let runs = 0;
      // Each (re)subscription replays the current states first, as CameraStates does.
      const flow = defer(() => (++runs === 1 ? cold('ab-w#', m, new EngineError('device lost', true)) : cold('ab-w', m)));
      expectObservable(flow.pipe(retryRetriable({ delayMs: () => 1 }), oncePerCameraState())).toBe('ab-w----w', m);
    });
  });
});
