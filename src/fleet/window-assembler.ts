/**
 * The infer role's windows of one frames partition (docs/scale-out.md), pure: no Kafka, no engine.
 * Frames of a (camera, session) are numbered gaplessly by ingest; window k holds frames
 * kS .. kS+W-1 (`lastWindowCompletedBy`, `firstWindowHolding` in records.ts), so any process that
 * reads the same partition from the same offset assembles the same windows, whoever read it before.
 *
 * Offsets (Kafka offsets of this partition, bigint):
 * - `emittedBelow` = O: the offset after the last frame added (or skipped): every window completed
 *   by a frame below it has been handed out (or suppressed).
 * - `rewindOffset()` = R: the oldest offset a pending window still needs (O when none). A process
 *   that re-reads from R with `suppressBelow` = O rebuilds exactly the pending state and hands out
 *   exactly the windows not handed out before.
 *
 * Missing frames (a seq gap: frames lost to retention, or a camera first seen mid-window after a
 * rebuild, an idle eviction or a fresh group) are PADDED: each missing slot repeats the nearest
 * frame the window has (ties: the earlier one), so every window has W frames, as the temporal heads
 * need. A window with no frame at all is not emitted (counted in `skippedWindows`).
 */
import { ConfigError } from '../errors.js';
import { firstWindowHolding, lastWindowCompletedBy } from './records.js';

export interface AssemblerFrame<T> {
  readonly camera: string;
  /** The ingest session that numbered the frame. */
  readonly session: string;
  readonly seq: number;
  readonly captureTs: number;
  /** What the window carries for this frame (an embedding). */
  readonly payload: T;
}

export interface AssembledWindow<T> {
  readonly camera: string;
  readonly session: string;
  /** k: the window's number in its (camera, session). */
  readonly windowSeq: number;
  /** kS. */
  readonly firstSeq: number;
  /** Capture time of the first and last frame (of the padded frames). */
  readonly start: number;
  readonly end: number;
  /** W payloads, oldest first; missing frames padded (see the file comment). */
  readonly frames: readonly T[];
  /** Frames of the window that never arrived (padded). */
  readonly missing: number;
  /** Offset of the frame that completed the window. */
  readonly completedAt: bigint;
}

export interface WindowAssemblerOptions {
  readonly window: number;
  readonly stride: number;
  /** A camera that sent no frame for this long (by `now`) is forgotten by `evictIdle`. */
  readonly idleMs: number;
  /** The first offset this assembler will see (where consumption starts): O before any frame. */
  readonly startOffset: bigint;
  /** Rebuilding after an assignment: windows completed by frames below this offset are not returned. */
  readonly suppressBelow?: bigint;
  /** Wall clock for idleness. Default Date.now. */
  readonly now?: () => number;
}

interface Buffered<T> {
  readonly seq: number;
  readonly offset: bigint;
  readonly captureTs: number;
  readonly payload: T;
}

interface CameraBuffer<T> {
  readonly session: string;
  /** The next window to complete (every earlier one was handed out, suppressed or skipped). */
  nextWindow: number;
  lastSeq: number;
  lastSeenMs: number;
  /** Frames some pending window needs, seq ascending (offsets ascending with them). */
  readonly frames: Array<Buffered<T>>;
}

export class WindowAssembler<T> {
  private readonly cameras = new Map<string, CameraBuffer<T>>();
  private readonly W: number;
  private readonly S: number;
  private readonly now: () => number;
  private next: bigint;
  private readonly suppressBelow: bigint;
  /** Frames that repeated or went back in seq within a session (ignored). */
  duplicateFrames = 0;
  /** Windows completed with no frame at all (not emitted). */
  skippedWindows = 0;
  /** Windows not returned because they were handed out before the rebuild. */
  suppressedWindows = 0;

  constructor(private readonly opts: WindowAssemblerOptions) {
    const { window: W, stride: S } = opts;
    if (!Number.isInteger(W) || W < 1) throw new ConfigError(`window must be an integer >= 1, got ${W}`);
    if (!Number.isInteger(S) || S < 1) throw new ConfigError(`stride must be an integer >= 1, got ${S}`);
    this.W = W;
    this.S = S;
    this.now = opts.now ?? Date.now;
    this.next = opts.startOffset;
    this.suppressBelow = opts.suppressBelow ?? opts.startOffset;
  }

  /** O: every window completed by a frame below this offset was handed out (or suppressed). */
  get emittedBelow(): bigint {
    return this.next;
  }

  /** R: the oldest offset a pending window still needs; O when none. */
  rewindOffset(): bigint {
    let r = this.next;
    for (const cam of this.cameras.values()) {
      const oldest = cam.frames[0];
      if (oldest !== undefined && oldest.offset < r) r = oldest.offset;
    }
    return r;
  }

  /** Cameras with state (tests, metrics). */
  get cameraCount(): number {
    return this.cameras.size;
  }

  /** An offset consumed without a frame (a malformed message): only moves O. */
  skip(offset: bigint): void {
    if (offset >= this.next) this.next = offset + 1n;
  }

  /** Adds the frame read at `offset`; returns the windows it completes, oldest first. */
  add(frame: AssemblerFrame<T>, offset: bigint): Array<AssembledWindow<T>> {
    this.skip(offset);
    const cam = this.cameraFor(frame);
    cam.lastSeenMs = this.now();
    if (frame.seq <= cam.lastSeq) {
      this.duplicateFrames++;
      return [];
    }
    cam.lastSeq = frame.seq;
    // A frame no pending window holds (stride > window) is not kept.
    if (frame.seq >= cam.nextWindow * this.S) cam.frames.push({ seq: frame.seq, offset, captureTs: frame.captureTs, payload: frame.payload });
    const out: Array<AssembledWindow<T>> = [];
    const last = lastWindowCompletedBy(frame.seq, this.W, this.S);
    while (cam.nextWindow <= last) {
      const k = cam.nextWindow;
      const w = this.assemble(frame, cam, k, offset);
      if (w === undefined) {
        // Jump over a run of empty windows at once (a seq jump of millions costs nothing).
        const after = cam.frames.find((f) => f.seq >= k * this.S);
        cam.nextWindow = after === undefined ? last + 1 : Math.min(last + 1, Math.max(k + 1, firstWindowHolding(after.seq, this.W, this.S)));
        this.skippedWindows += cam.nextWindow - k;
      } else {
        cam.nextWindow = k + 1;
        if (offset < this.suppressBelow) this.suppressedWindows++;
        else out.push(w);
      }
      this.release(cam);
    }
    return out;
  }

  /** Forgets cameras idle for `idleMs`, so their old frames stop pinning R. Returns their ids. */
  evictIdle(): string[] {
    const before = this.now() - this.opts.idleMs;
    const gone: string[] = [];
    for (const [id, cam] of this.cameras) {
      if (cam.lastSeenMs < before) {
        this.cameras.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  private cameraFor(frame: AssemblerFrame<T>): CameraBuffer<T> {
    const known = this.cameras.get(frame.camera);
    if (known !== undefined && known.session === frame.session) return known;
    // A new session (or a camera first seen): the old session's pending windows will never complete.
    const cam: CameraBuffer<T> = { session: frame.session, nextWindow: firstWindowHolding(frame.seq, this.W, this.S), lastSeq: -1, lastSeenMs: 0, frames: [] };
    this.cameras.set(frame.camera, cam);
    return cam;
  }

  /** Drops frames no pending window needs. */
  private release(cam: CameraBuffer<T>): void {
    const keepFrom = cam.nextWindow * this.S;
    let n = 0;
    while (n < cam.frames.length && cam.frames[n]!.seq < keepFrom) n++;
    if (n > 0) cam.frames.splice(0, n);
  }

  /** Window k from the buffer, padded; undefined when it has no frame at all. */
  private assemble(frame: AssemblerFrame<T>, cam: CameraBuffer<T>, k: number, completedAt: bigint): AssembledWindow<T> | undefined {
    const first = k * this.S;
    const have = cam.frames.filter((f) => f.seq >= first && f.seq < first + this.W);
    if (have.length === 0) return undefined;
    const slots: Array<Buffered<T>> = [];
    let j = 0;
    for (let seq = first; seq < first + this.W; seq++) {
      // `have` is seq-ascending: advance to the last frame at or before seq, then pick the nearer.
      while (j + 1 < have.length && have[j + 1]!.seq <= seq) j++;
      const a = have[j]!;
      const b = have[j + 1];
      slots.push(a.seq >= seq || b === undefined || seq - a.seq <= b.seq - seq ? a : b);
    }
    return {
      camera: frame.camera,
      session: cam.session,
      windowSeq: k,
      firstSeq: first,
      start: slots[0]!.captureTs,
      end: slots[slots.length - 1]!.captureTs,
      frames: slots.map((s) => s.payload),
      missing: this.W - have.length,
      completedAt,
    };
  }
}
