import type { Observable } from 'rxjs';
import type { CameraState, Frame } from '../types.js';

/** A frame as a source delivers it; supervision adds the camera id and the sequence number. */
export interface SourceFrame {
  /** Capture time, epoch ms. */
  readonly captureTs: number;
  readonly width: number;
  readonly height: number;
  /** Interleaved RGB, width*height*3 bytes. */
  readonly rgb: Uint8Array;
}

/**
 * Anything frames come from: an ffmpeg-decoded URL today, any other producer tomorrow. A source
 * knows how to make one connection; supervision (`supervise`) decides when to make another.
 */
export interface FrameSource {
  /**
   * One connection. Emits frames until the input is finished for good (complete: a file ended)
   * or this connection failed (error: a `SourceError` whose `retriable` says whether another
   * connection can help). Unsubscribing releases everything (kills the process, closes sockets).
   */
  connect(): Observable<SourceFrame>;
}

/** A supervised camera emits frames and, interleaved, its state changes. */
export type CameraEvent = Frame | CameraState;

export function isCameraState(e: CameraEvent): e is CameraState {
  return (e as CameraState).status !== undefined;
}
