import { firstValueFrom, from, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { trackEvents, type EventTrackerOptions } from '../../src/stages/track-events.js';
import { parseDetectionMessage, stampLatency, type Detection } from '../../src/detections/schema.js';
import type { CameraState, Vocabulary, WindowResult } from '../../src/types.js';

const LABELS = ['run', 'jump'];
/** Window i of `camera`: 1 s windows every 500 ms; scores for [run, jump]. */
function result(i: number, run: number, jump = 1 - run, camera = 'cam', labels = LABELS, version = 1): WindowResult {
  const scores = new Float32Array(labels.length);
  scores[0] = run;
  if (labels.length > 1) scores[1] = jump;
  const topk = labels.map((label, j) => ({ label, score: scores[j] })).sort((a, b) => b.score - a.score);
  return { camera, windowStart: i * 500, windowEnd: i * 500 + 1000, frames: 8, topk, scores, labels, vocabularyVersion: version };
}

async function track(scores: number[], options: Partial<EventTrackerOptions> = {}): Promise<Detection[]> {
  return firstValueFrom(from(scores.map((s, i) => result(i, s, 0))).pipe(trackEvents({ model: 'test', ...options }), toArray()));
}
const brief = (d: Detection): string => (d.type === 'camera' ? `camera:${d.state.status}` : `${d.type}:${d.label}@${d.windowStart}${d.type === 'end' ? `(${d.reason})` : ''}`);

describe('trackEvents (hysteresis)', () => {
  it('starts after minWindows windows above enter, updates while active, ends after cooldown windows', async () => {
    const out = await track([0.6, 0.7, 0.8, 0.3, 0.6, 0.3, 0.2, 0.1]);
    expect(out.map(brief)).toEqual([
      'start:run@500', // two consecutive >= 0.5
      'update:run@1000',
      'update:run@1500', // one window below: cooling down, still active
      'update:run@2000', // back above: cool-down counter reset
      'update:run@2500',
      'end:run@3000(score)', // second consecutive window below
    ]);
    const start = out[0];
    expect(start).toMatchObject({ schema: 1, camera: 'cam', label: 'run', score: expect.closeTo(0.7, 6), eventStart: 0, frames: 8, vocabularyVersion: 1, model: 'test' });
    expect(out[5]).toMatchObject({ eventStart: 0, score: expect.closeTo(0.2, 6) });
  });

  it('ignores a single spike and needs consecutive windows to start', async () => {
    const out = await track([0.9, 0.1, 0.9, 0.1, 0.9, 0.9]);
    expect(out.map(brief)).toEqual(['start:run@2500', 'end:run@2500(complete)']);
    expect(out[0]).toMatchObject({ eventStart: 2000 });
  });

  it('a lower exit threshold keeps the event through scores between exit and enter', async () => {
    const out = await track([0.7, 0.7, 0.45, 0.45, 0.45, 0.2], { enterThreshold: 0.6, exitThreshold: 0.4, cooldownWindows: 1, updateEvery: 0 });
    expect(out.map(brief)).toEqual(['start:run@500', 'end:run@2500(score)']);
  });

  it('cooldownMs also requires capture time below the exit threshold', async () => {
    // Windows end 500 ms apart: 1 window and 1200 ms -> ends at the fourth window below.
    const out = await track([0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1], { cooldownWindows: 1, cooldownMs: 1200, updateEvery: 0 });
    expect(out.filter((d) => d.type !== 'camera' && d.label === 'run').map(brief)).toEqual(['start:run@500', 'end:run@2500(score)']);
  });

  it('updates every N windows', async () => {
    const out = await track([0.9, 0.9, 0.9, 0.9, 0.9, 0.9], { updateEvery: 2 });
    expect(out.map(brief)).toEqual(['start:run@500', 'update:run@1500', 'update:run@2500', 'end:run@2500(complete)']);
  });

  it('ends events when the camera stops, and emits camera messages when asked', () => {
    const src = new Subject<WindowResult>();
    const states = new Subject<CameraState>();
    const out: Detection[] = [];
    const sub = src.pipe(trackEvents({ model: 'm', cameraStates: states, emitCameraStates: true, updateEvery: 0 })).subscribe((d) => out.push(d));
    src.next(result(0, 0.9, 0.1, 'a'));
    src.next(result(1, 0.9, 0.1, 'a'));
    src.next(result(0, 0.9, 0.1, 'b'));
    src.next(result(1, 0.9, 0.1, 'b'));
    states.next({ camera: 'a', status: 'stopped', since: 9999, attempt: 0 });
    expect(out.map((d) => `${d.camera}:${brief(d)}`)).toEqual(['a:start:run@500', 'b:start:run@500', 'a:camera:stopped', 'a:end:run@500(camera)']);
    sub.unsubscribe();
    expect(states.observed).toBe(false);
  });

  it('ends events of labels the vocabulary drops, at once and via results of a new version', () => {
    const src = new Subject<WindowResult>();
    const vocab$ = new Subject<Vocabulary>();
    const out: Detection[] = [];
    src.pipe(trackEvents({ model: 'm', vocabulary$: vocab$, updateEvery: 0 })).subscribe((d) => out.push(d));
    src.next(result(0, 0.9, 0.1, 'a'));
    src.next(result(1, 0.9, 0.1, 'a'));
    src.next(result(0, 0.1, 0.9, 'b'));
    src.next(result(1, 0.1, 0.9, 'b'));
    vocab$.next({ version: 2, labels: ['jump', 'swim'], templates: ['{}'], textEmbeddings: new Float32Array(4), dim: 2, createdAt: 0 });
    expect(out.map((d) => `${d.camera}:${brief(d)}`)).toEqual(['a:start:run@500', 'b:start:jump@500', 'a:end:run@500(vocabulary)']);
    // Without the vocabulary stream, a result of a version lacking the label ends it too.
    src.next(result(2, 0.9, 0.1, 'b', ['swim'], 3));
    expect(out.map((d) => `${d.camera}:${brief(d)}`).slice(3)).toEqual(['b:end:jump@1000(vocabulary)']);
  });

  it('also emits window messages when asked', async () => {
    const out = await track([0.9], { emitWindows: true });
    expect(out.map(brief)).toEqual(['window:run@0']);
    expect(out[0]).toMatchObject({ score: expect.closeTo(0.9, 6), topk: [{ label: 'run' }, { label: 'jump' }] });
  });

  it('rejects inconsistent thresholds', () => {
    expect(() => trackEvents({ model: 'm', enterThreshold: 0.5, exitThreshold: 0.6 })).toThrow(ConfigError);
    expect(() => trackEvents({ model: 'm', minWindows: 0 })).toThrow(ConfigError);
  });

  it('every message it emits is valid under the schema once stamped', async () => {
    const out = await track([0.6, 0.7, 0.8, 0.3, 0.2], { emitWindows: true });
    for (const d of out) {
      const m = stampLatency(d, 10_000);
      expect(parseDetectionMessage(JSON.parse(JSON.stringify(m)))).toEqual(m);
      if (m.type !== 'camera') expect(m.latencyMs).toBe(10_000 - m.windowEnd);
    }
  });
});
