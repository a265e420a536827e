import { Observable, Subject } from 'rxjs';
import type { CameraState } from '../types.js';

/**
 * The camera-state stream the stages read: every change as it happens, and to each new subscriber
 * first the current state of every camera, so a stage that subscribes late (the flow restarted
 * after a retriable fault) knows which cameras are reconnecting instead of waiting for their next
 * change. A `stopped` camera is forgotten once announced: a fresh subscriber holds nothing of it.
 */
export class CameraStates {
  private readonly latest = new Map<string, CameraState>();
  private readonly changes = new Subject<CameraState>();

  next(state: CameraState): void {
    if (state.status === 'stopped') this.latest.delete(state.camera);
    else this.latest.set(state.camera, state);
    this.changes.next(state);
  }

  /** Current states (one per camera not stopped). */
  current(): CameraState[] {
    return [...this.latest.values()];
  }

  readonly states$: Observable<CameraState> = new Observable<CameraState>((subscriber) => {
    for (const s of [...this.latest.values()]) subscriber.next(s);
    return this.changes.subscribe(subscriber);
  });

  complete(): void {
    this.changes.complete();
  }
}
