import { Observable, type OperatorFunction } from 'rxjs';
import { ConfigError } from '../errors.js';
import { lifecycleOf } from './camera-lifecycle.js';
import type { CameraState, Vocabulary, WindowResult } from '../types.js';
import { windowMessage, cameraMessage } from '../detections/messages.js';
import type { Detection, EndMessage, EndReason, StartMessage, Unstamped, UpdateMessage } from '../detections/schema.js';

export interface EventTrackerOptions {
  /** Model name put in every message (e.g. `ViT-B/16+Transf`). */
  readonly model: string;
  /** A label's probability must reach this to count towards a start. Default 0.5. */
  readonly enterThreshold?: number;
  /** An active event counts towards its end while the probability is below this. Default = enterThreshold. Must be <= enterThreshold. */
  readonly exitThreshold?: number;
  /** Consecutive windows at or above enterThreshold before `start`. Default 2. */
  readonly minWindows?: number;
  /** Consecutive windows below exitThreshold before `end`. Default 2. */
  readonly cooldownWindows?: number;
  /** ...and at least this much capture time between the first and the latest such window's end. Default 0. */
  readonly cooldownMs?: number;
  /** An `update` every this many windows while active (those not starting or ending it); 0 = none. Default 1. */
  readonly updateEvery?: number;
  /** Also emit a `window` message for every scored window. Default false. */
  readonly emitWindows?: boolean;
  /** States that end events (see CAMERA_LIFECYCLE) close the camera's events (reason `camera`). */
  readonly cameraStates?: Observable<CameraState>;
  /** Also emit every camera state as a `camera` message. Default false (the pipeline may publish them itself). */
  readonly emitCameraStates?: boolean;
  /** A version without an active label ends that label's events at once (reason `vocabulary`). */
  readonly vocabulary$?: Observable<Vocabulary>;
}

export const TRACKER_DEFAULTS = { enterThreshold: 0.5, minWindows: 2, cooldownWindows: 2, cooldownMs: 0, updateEvery: 1 } as const;


interface LabelState {
  active: boolean;
  /** Consecutive windows >= enter while inactive. */
  above: number;
  /** Capture start of the first window of the current run: becomes `eventStart`. */
  runStart: number;
  /** Consecutive windows < exit while active, and the end time of the first of them. */
  below: number;
  belowSince: number;
  sinceUpdate: number;
  lastScore: number;
}

interface CameraTrack {
  readonly labels: Map<string, LabelState>;
  last: WindowResult;
}

interface Hysteresis {
  readonly enter: number;
  readonly exit: number;
  readonly minWindows: number;
  readonly cooldownWindows: number;
  readonly cooldownMs: number;
  readonly updateEvery: number;
}

/** One window's score for one tracked label: updates `st` and says what to emit (or to forget it). */
function stepLabel(st: LabelState, score: number, r: WindowResult, h: Hysteresis): 'start' | 'update' | 'end' | 'forget' | undefined {
  st.lastScore = score;
  if (!st.active) {
    if (score < h.enter) return 'forget';
    st.above++;
    if (st.above < h.minWindows) return undefined;
    st.active = true;
    st.below = 0;
    st.sinceUpdate = 0;
    return 'start';
  }
  if (score < h.exit) {
    if (st.below === 0) st.belowSince = r.windowEnd;
    st.below++;
    if (st.below >= h.cooldownWindows && r.windowEnd - st.belowSince >= h.cooldownMs) return 'end';
  } else {
    st.below = 0;
  }
  st.sinceUpdate++;
  if (h.updateEvery > 0 && st.sinceUpdate >= h.updateEvery) {
    st.sinceUpdate = 0;
    return 'update';
  }
  return undefined;
}

/**
 * Window results -> detection events, per camera and label, with hysteresis: `start` after
 * `minWindows` consecutive windows >= enterThreshold, `update` while active, `end` after
 * `cooldownWindows` consecutive windows (and `cooldownMs`) < exitThreshold, or when the camera
 * stops, the vocabulary drops the label, or the source completes. Messages are unstamped; the
 * publisher sets `latencyMs` (stampLatency).
 *
 * Scores are the label's probability in `WindowResult.scores` (not only the top-k), so a label can
 * stay active while ranked below others. The window fields of start/update/end are the window that
 * caused the message (for ends not caused by a window: the camera's last window, score = the
 * label's last score); `eventStart` is the start of the first window of the run that started it.
 */
export function trackEvents(options: EventTrackerOptions): OperatorFunction<WindowResult, Detection> {
  const enter = options.enterThreshold ?? TRACKER_DEFAULTS.enterThreshold;
  const exit = options.exitThreshold ?? enter;
  const minWindows = options.minWindows ?? TRACKER_DEFAULTS.minWindows;
  const cooldownWindows = options.cooldownWindows ?? TRACKER_DEFAULTS.cooldownWindows;
  const cooldownMs = options.cooldownMs ?? TRACKER_DEFAULTS.cooldownMs;
  const updateEvery = options.updateEvery ?? TRACKER_DEFAULTS.updateEvery;
  if (!(enter >= 0 && enter <= 1)) throw new ConfigError(`enterThreshold must be in [0,1], got ${enter}`);
  if (!(exit >= 0 && exit <= enter)) throw new ConfigError(`exitThreshold must be in [0, enterThreshold=${enter}], got ${exit}`);
  for (const [name, v] of [['minWindows', minWindows], ['cooldownWindows', cooldownWindows]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${name} must be an integer >= 1, got ${v}`);
  }
  if (!Number.isInteger(updateEvery) || updateEvery < 0) throw new ConfigError(`updateEvery must be an integer >= 0, got ${updateEvery}`);
  if (!(cooldownMs >= 0)) throw new ConfigError(`cooldownMs must be >= 0, got ${cooldownMs}`);
  const { model } = options;
  const h: Hysteresis = { enter, exit, minWindows, cooldownWindows, cooldownMs, updateEvery };

  const eventMessage = <K extends 'start' | 'update'>(type: K, label: string, st: LabelState, r: WindowResult): Unstamped<K extends 'start' ? StartMessage : UpdateMessage> =>
    ({ ...windowMessage(r, model), type, label, score: st.lastScore, eventStart: st.runStart }) as Unstamped<K extends 'start' ? StartMessage : UpdateMessage>;
  const endMessage = (label: string, st: LabelState, r: WindowResult, reason: EndReason): Unstamped<EndMessage> => ({
    ...windowMessage(r, model),
    type: 'end',
    label,
    score: st.lastScore,
    eventStart: st.runStart,
    reason,
  });

  return (source) =>
    new Observable<Detection>((subscriber) => {
      const cameras = new Map<string, CameraTrack>();

      /** Ends every active event of `track` whose label `drop` selects; forgets those labels. */
      const endWhere = (track: CameraTrack, reason: EndReason, drop: (label: string) => boolean): void => {
        for (const [label, st] of [...track.labels]) {
          if (!drop(label)) continue;
          track.labels.delete(label);
          if (st.active) subscriber.next(endMessage(label, st, track.last, reason));
        }
      };

      const onResult = (r: WindowResult): void => {
        let track = cameras.get(r.camera);
        if (track === undefined) {
          track = { labels: new Map(), last: r };
          cameras.set(r.camera, track);
        }
        track.last = r;
        if (options.emitWindows) subscriber.next(windowMessage(r, model));
        const present = new Set(r.labels);
        endWhere(track, 'vocabulary', (l) => !present.has(l));
        r.labels.forEach((label, i) => {
          const score = r.scores[i];
          let st = track.labels.get(label);
          if (st === undefined) {
            // Only labels near an event keep state, so a 400-label vocabulary costs nothing per window.
            if (score < h.enter) return;
            st = { active: false, above: 0, runStart: r.windowStart, below: 0, belowSince: 0, sinceUpdate: 0, lastScore: score };
            track.labels.set(label, st);
          }
          const step = stepLabel(st, score, r, h);
          if (step === 'forget' || step === 'end') track.labels.delete(label);
          if (step === 'start' || step === 'update') subscriber.next(eventMessage(step, label, st, r));
          else if (step === 'end') subscriber.next(endMessage(label, st, r, 'score'));
        });
      };

      const stateSub = options.cameraStates?.subscribe((s) => {
        if (options.emitCameraStates) subscriber.next(cameraMessage(s));
        if (!lifecycleOf(s.status).endEvents) return;
        const track = cameras.get(s.camera);
        if (track === undefined) return;
        endWhere(track, 'camera', () => true);
        cameras.delete(s.camera);
      });
      const vocabSub = options.vocabulary$?.subscribe((v) => {
        const present = new Set(v.labels);
        for (const track of cameras.values()) endWhere(track, 'vocabulary', (l) => !present.has(l));
      });
      const sub = source.subscribe({
        next: onResult,
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          // Close what is open so consumers never hold a dangling `start`.
          for (const track of cameras.values()) endWhere(track, 'complete', () => true);
          cameras.clear();
          subscriber.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        stateSub?.unsubscribe();
        vocabSub?.unsubscribe();
        cameras.clear();
      };
    });
}
