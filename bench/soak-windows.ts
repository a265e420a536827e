/**
 * Windows produced against windows expected, per camera, from the pipeline's own events: frames
 * delivered by the source since the camera's last window reset (CAMERA_LIFECYCLE) make
 * floor((n - W) / S) + 1 windows; frames the encoder queue dropped (drop-oldest, counted) are not
 * expected to make windows. A difference beyond the windows in flight is a lost window.
 */
import type { Instrumentation } from '../src/instrumentation/instrumentation.js';
import { lifecycleOf } from '../src/stages/camera-lifecycle.js';

interface CameraLedger {
  segmentFrames: number;
  closedExpected: number;
  produced: number;
  framesIn: number;
  framesDropped: number;
  windowsDropped: number;
  resets: number;
  misdated: number;
  /** Capture time of the last frame delivered, and the time of the last reset state. */
  lastTs: number;
  resetSince: number;
}

export interface WindowCounts {
  readonly expected: number;
  readonly produced: number;
  readonly framesIn: number;
  readonly framesDropped: number;
  readonly windowsDropped: number;
  readonly resets: number;
  /**
   * Frames on the wrong side of a reset by capture time: a reset state dated no later than the
   * frame delivered before it, or a frame delivered after it dated before it. The pipeline splits windows by capture time, these
   * counts by delivery order; they agree only while this is 0 (supervision dates states so).
   */
  readonly misdated: number;
}

export class WindowLedger {
  private readonly cameras = new Map<string, CameraLedger>();
  private readonly offs: Array<() => void>;

  constructor(instrumentation: Instrumentation, private readonly window: number, private readonly stride: number) {
    this.offs = [
      instrumentation.on('source.frame', (e) => {
        const c = this.camera(e.camera);
        c.framesIn++;
        c.segmentFrames++;
        if (e.captureTs < c.resetSince) c.misdated++;
        c.lastTs = e.captureTs;
      }),
      instrumentation.on('camera.state', (s) => {
        if (!lifecycleOf(s.status).resetWindows) return;
        const c = this.camera(s.camera);
        if (c.segmentFrames > 0) c.resets++;
        if (c.lastTs >= s.since) c.misdated++;
        c.resetSince = s.since;
        c.closedExpected += this.windowsOf(c.segmentFrames);
        c.segmentFrames = 0;
      }),
      instrumentation.on('queue.dropped', (e) => {
        const c = this.camera(e.camera);
        if (e.stage === 'frames') {
          c.framesDropped += e.count;
          c.segmentFrames = Math.max(0, c.segmentFrames - e.count);
        } else c.windowsDropped += e.count;
      }),
      instrumentation.on('window.scored', (e) => this.camera(e.camera).produced++),
    ];
  }

  private windowsOf(frames: number): number {
    return frames < this.window ? 0 : Math.floor((frames - this.window) / this.stride) + 1;
  }

  private camera(id: string): CameraLedger {
    let c = this.cameras.get(id);
    if (c === undefined) {
      c = { segmentFrames: 0, closedExpected: 0, produced: 0, framesIn: 0, framesDropped: 0, windowsDropped: 0, resets: 0, misdated: 0, lastTs: -Infinity, resetSince: -Infinity };
      this.cameras.set(id, c);
    }
    return c;
  }

  produced(): number {
    let n = 0;
    for (const c of this.cameras.values()) n += c.produced;
    return n;
  }

  /** Per camera and in total; open segments count as if they ended now. */
  counts(): { total: WindowCounts; cameras: Record<string, WindowCounts> } {
    const cameras: Record<string, WindowCounts> = {};
    const total = { expected: 0, produced: 0, framesIn: 0, framesDropped: 0, windowsDropped: 0, resets: 0, misdated: 0 };
    for (const [id, c] of this.cameras) {
      const row = { expected: c.closedExpected + this.windowsOf(c.segmentFrames), produced: c.produced, framesIn: c.framesIn, framesDropped: c.framesDropped, windowsDropped: c.windowsDropped, resets: c.resets, misdated: c.misdated };
      cameras[id] = row;
      for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += row[k];
    }
    return { total, cameras };
  }

  close(): void {
    for (const off of this.offs) off();
  }
}
