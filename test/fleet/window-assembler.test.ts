import { describe, expect, it } from 'vitest';
import { WindowAssembler, type AssembledWindow } from '../../src/fleet/window-assembler.js';

interface Msg {
  readonly camera: string;
  readonly session: string;
  readonly seq: number;
}

/** A partition's log: cameras interleaved round-robin, `n` frames each; offset = index. */
function interleaved(cameras: readonly string[], n: number, session = 's1'): Msg[] {
  const log: Msg[] = [];
  for (let seq = 0; seq < n; seq++) for (const camera of cameras) log.push({ camera, session, seq });
  return log;
}

function make(W: number, S: number, opts: { start?: bigint; suppressBelow?: bigint; now?: () => number } = {}): WindowAssembler<string> {
  return new WindowAssembler<string>({ window: W, stride: S, idleMs: 60_000, startOffset: opts.start ?? 0n, suppressBelow: opts.suppressBelow, now: opts.now });
}

/** Feeds log[from..to) and returns the windows, as `camera/session/k`. */
function feed(a: WindowAssembler<string>, log: readonly Msg[], from: number, to: number): Array<AssembledWindow<string>> {
  const out: Array<AssembledWindow<string>> = [];
  for (let i = from; i < to; i++) {
    const m = log[i]!;
    out.push(...a.add({ ...m, captureTs: 1000 + m.seq, payload: `${m.camera}:${m.seq}` }, BigInt(i)));
  }
  return out;
}

const ids = (ws: ReadonlyArray<AssembledWindow<string>>): string[] => ws.map((w) => `${w.camera}/${w.session}/${w.windowSeq}`);

describe('WindowAssembler', () => {
  for (const [W, S] of [[8, 4], [16, 8], [8, 8]] as const) {
    it(`window ${W}, stride ${S}: windows numbered 0,1,2,... per camera, each frames kS..kS+W-1, completed by frame kS+W-1`, () => {
      const log = interleaved(['a', 'b'], 50);
      const a = make(W, S);
      const ws = feed(a, log, 0, log.length);
      const expected = Math.floor((50 - W) / S) + 1;
      for (const cam of ['a', 'b']) {
        const mine = ws.filter((w) => w.camera === cam);
        expect(mine.map((w) => w.windowSeq)).toEqual(Array.from({ length: expected }, (_, k) => k));
        for (const w of mine) {
          expect(w.frames).toEqual(Array.from({ length: W }, (_, i) => `${cam}:${w.windowSeq * S + i}`));
          expect(w.missing).toBe(0);
          expect(log[Number(w.completedAt)]).toEqual({ camera: cam, session: 's1', seq: w.windowSeq * S + W - 1 });
          expect([w.start, w.end]).toEqual([1000 + w.windowSeq * S, 1000 + w.windowSeq * S + W - 1]);
        }
      }
      expect(a.emittedBelow).toBe(BigInt(log.length));
    });

    it(`window ${W}, stride ${S}: replay from R after every cut point, suppressing below O, yields exactly the windows not yet emitted`, () => {
      const log = interleaved(['a', 'b', 'c'], 40);
      const all = ids(feed(make(W, S), log, 0, log.length));
      for (let cut = 0; cut <= log.length; cut += 7) {
        const first = make(W, S);
        const before = feed(first, log, 0, cut);
        const R = first.rewindOffset();
        const O = first.emittedBelow;
        expect(R).toBeLessThanOrEqual(O);
        // A new owner: fresh state, reads from R, suppresses what the old one handed out.
        const second = make(W, S, { start: R, suppressBelow: O });
        const after = feed(second, log, Number(R), log.length);
        expect([...ids(before), ...ids(after)].sort()).toEqual([...all].sort());
        expect(after.every((w) => w.missing === 0)).toBe(true);
        // The rebuilt state holds what the old one did: both go on identically.
        expect(second.rewindOffset()).toBe(feedAndR(W, S, log));
      }
    });
  }

  it('R is the oldest offset a pending window needs, and O when none is pending', () => {
    const a = make(8, 4);
    expect(a.rewindOffset()).toBe(0n);
    feed(a, interleaved(['a'], 8), 0, 8); // window 0 done; frames 4..7 pending for window 1
    expect(a.rewindOffset()).toBe(4n);
    expect(a.emittedBelow).toBe(8n);
    const b = make(8, 8);
    feed(b, interleaved(['a'], 8), 0, 8);
    expect(b.rewindOffset()).toBe(8n);
    b.skip(8n);
    expect([b.rewindOffset(), b.emittedBelow]).toEqual([9n, 9n]);
  });

  it('a gap is padded with the nearest frame the window has (ties: the earlier); a window with no frame is skipped', () => {
    const a = make(8, 4);
    const log: Msg[] = [0, 1, 5, 7, 40, 41, 42, 43, 44, 45, 46, 47].map((seq) => ({ camera: 'a', session: 's', seq }));
    const ws = feed(a, log, 0, log.length);
    expect(ids(ws)).toEqual(['a/s/0', 'a/s/1', 'a/s/9', 'a/s/10']);
    expect(ws[0]!.frames).toEqual(['a:0', 'a:1', 'a:1', 'a:1', 'a:5', 'a:5', 'a:5', 'a:7']);
    expect(ws[0]!.missing).toBe(4);
    // Window 1 = frames 4..11: has 5 and 7 only, completed by frame 40.
    expect(ws[1]!.frames).toEqual(['a:5', 'a:5', 'a:5', 'a:7', 'a:7', 'a:7', 'a:7', 'a:7']);
    expect(ws[1]!.completedAt).toBe(4n);
    expect(a.skippedWindows).toBe(7); // windows 2..8 had no frame
  });

  it('a new session drops the old one and starts at window 0; duplicates are ignored', () => {
    const a = make(8, 4);
    const log: Msg[] = [...interleaved(['a'], 10, 'old'), ...interleaved(['a'], 9, 'new'), { camera: 'a', session: 'new', seq: 3 }];
    const ws = feed(a, log, 0, log.length);
    expect(ids(ws)).toEqual(['a/old/0', 'a/new/0']);
    expect(a.duplicateFrames).toBe(1);
    // The old session's frames 4..9 no longer pin R: the new one's window 1 needs frames from 4 on.
    expect(a.rewindOffset()).toBe(14n);
  });

  it('a camera idle for idleMs is forgotten and stops pinning R', () => {
    let now = 0;
    const a = make(8, 4, { now: () => now });
    feed(a, interleaved(['a'], 6), 0, 6);
    now = 30_000;
    a.add({ camera: 'b', session: 's', seq: 0, captureTs: 1, payload: 'b:0' }, 6n);
    expect(a.rewindOffset()).toBe(0n);
    now = 70_000;
    expect(a.evictIdle()).toEqual(['a']);
    expect(a.rewindOffset()).toBe(6n);
    expect(a.cameraCount).toBe(1);
  });
});

/** R after feeding the whole log into one assembler (what a rebuilt one must agree with). */
function feedAndR(W: number, S: number, log: readonly Msg[]): bigint {
  const a = make(W, S);
  feed(a, log, 0, log.length);
  return a.rewindOffset();
}
