// Supervision alone, in virtual time: a FrameSource whose connections are cold marble streams
// (the interface's own contract, not a mock of a fault), so watchdogs and back-off are exact.
import { type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ConfigError, SourceError } from '../../src/errors.js';
import { isCameraState, type CameraEvent, type FrameSource, type SourceFrame } from '../../src/sources/frame-source.js';
import { supervise } from '../../src/sources/supervise.js';

const supervision = { connectTimeoutSec: 0.01, stallTimeoutSec: 0.005, backoff: { initialMs: 3, maxMs: 10, jitter: 0 } };
/** A cold marble stream and the log of who subscribed to it when. */
type Connection = Observable<SourceFrame> & { subscriptions: Array<{ subscribedFrame: number; unsubscribedFrame: number }> };
const frame = (captureTs: number): SourceFrame => ({ captureTs, width: 1, height: 1, rgb: new Uint8Array(3) });
const values = { a: frame(100), b: frame(200), c: frame(300), d: frame(150) };

/** A source whose n-th connection is `connections[n]` (the last one repeats). */
function sourceOf(connections: Observable<SourceFrame>[]): FrameSource & { connects: number } {
  const s = { connects: 0, connect: () => connections[Math.min(s.connects++, connections.length - 1)] };
  return s;
}

/** Runs `supervise` in virtual time; each event as "t status(attempt): reason" or "t #seq@captureTs". */
function run(build: (h: { cold: TestScheduler['createColdObservable'] }) => FrameSource, until = 200, unsubscribeAt?: number) {
  const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
  const log: string[] = [];
  let completed = false;
  let source!: FrameSource;
  ts.run(({ cold }) => {
    source = build({ cold: cold as TestScheduler['createColdObservable'] });
    const sub = supervise('cam', source, { supervision, scheduler: ts, random: () => 0.5 }).subscribe({
      next: (e: CameraEvent) => log.push(isCameraState(e) ? `${ts.now()} ${e.status}(${e.attempt})${e.reason ? `: ${e.reason}` : ''}` : `${ts.now()} #${e.seq}@${e.captureTs}`),
      complete: () => (completed = true),
    });
    if (unsubscribeAt !== undefined) ts.schedule(() => sub.unsubscribe(), unsubscribeAt);
    ts.schedule(() => sub.unsubscribe(), until);
  });
  return { log, completed, source };
}

describe('supervise', () => {
  it('stall: streaming -> stalled -> reconnecting -> streaming; seq continues, the stalled connection is closed', () => {
    let first!: Connection;
    const { log } = run(({ cold }) => {
      first = cold('-a-b', values) as Connection;
      return sourceOf([first, cold('-c', values)]);
    }, 15);
    expect(log).toEqual([
      '0 connecting(0)',
      '1 streaming(0)',
      '1 #0@100',
      '3 #1@200',
      '8 stalled(0): no frame for 0.005s',
      '8 reconnecting(1): stalled: no frame for 0.005s',
      '12 streaming(0)',
      '12 #2@300',
    ]);
    expect(first.subscriptions.map((s) => [s.subscribedFrame, s.unsubscribedFrame])).toEqual([[0, 8]]);
  });

  it("streaming is dated by the first frame's capture time and times never go back across connections", () => {
    const { log } = run(({ cold }) => sourceOf([cold('-c#', values, new SourceError('cut', true)), cold('-d', values)]), 10);
    expect(log.filter((l) => l.includes('#'))).toEqual(['1 #0@300', '6 #1@301']);
  });

  it('a state is dated after every frame delivered before it, and later frames never before it (windows split there)', () => {
    // The frame at 300 arrives at t=1 and the connection ends at t=2: ffmpeg's fps filter dates the
    // last frames of a connection up to a tick ahead of the exit that follows them.
    const states: Array<{ status: string; since: number }> = [];
    const frames: number[] = [];
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    ts.run(({ cold }) => {
      const source = sourceOf([cold('-c#', values, new SourceError('cut', true)), cold('-a', values)]);
      const sub = supervise('cam', source, { supervision, scheduler: ts, random: () => 0.5 }).subscribe((e) => (isCameraState(e) ? states.push({ status: e.status, since: e.since }) : frames.push(e.captureTs)));
      ts.schedule(() => sub.unsubscribe(), 10);
    });
    expect(states.map((s) => s.status)).toEqual(['connecting', 'streaming', 'reconnecting', 'streaming']);
    const reconnecting = states[2]!.since;
    expect(reconnecting).toBe(301);
    expect(frames).toEqual([300, 301]);
    expect(frames[0]).toBeLessThan(reconnecting);
    expect(frames[1]).toBeGreaterThanOrEqual(reconnecting);
  });

  it('a retriable failure reconnects with growing, capped back-off; frames reset the attempts', () => {
    const refused = new SourceError('Connection refused', true);
    const { log, source } = run(({ cold }) => sourceOf([cold('#', {}, refused), cold('#', {}, refused), cold('#', {}, refused), cold('-a', values)]), 30);
    expect(log).toEqual([
      '0 connecting(0)',
      '0 reconnecting(1): Connection refused',
      '3 reconnecting(2): Connection refused',
      '9 reconnecting(3): Connection refused',
      '20 streaming(0)', // 9 + min(12, 10): the cap
      '20 #0@100',
      '25 stalled(0): no frame for 0.005s',
      '25 reconnecting(1): stalled: no frame for 0.005s',
      '29 streaming(0)',
      '29 #1@102', // its time (100) is dated after the states that reset windows (101, 102)
    ].filter((l) => Number(l.split(' ')[0]) <= 30));
    expect((source as FrameSource & { connects: number }).connects).toBe(5);
  });

  it('no first frame within the connect timeout reconnects', () => {
    const { log } = run(({ cold }) => sourceOf([cold('-'), cold('-a', values)]), 20);
    expect(log.slice(0, 4)).toEqual(['0 connecting(0)', '10 reconnecting(1): no first frame within 0.01s', '14 streaming(0)', '14 #0@100']);
  });

  it('a fatal failure stops once and completes; nothing reconnects', () => {
    const { log, completed, source } = run(({ cold }) => sourceOf([cold('-a#', values, new SourceError('cannot start ffmpeg (x): ENOENT', false))]), 100);
    expect(log).toEqual(['0 connecting(0)', '1 streaming(0)', '1 #0@100', '2 stopped(0): cannot start ffmpeg (x): ENOENT']);
    expect(completed).toBe(true);
    expect((source as FrameSource & { connects: number }).connects).toBe(1);
  });

  it('errors outside the hierarchy are fatal too; reasons never show credentials', () => {
    const { log } = run(({ cold }) => sourceOf([cold('#', {}, new Error('bad rtsp://admin:hunter2@cam/x'))]), 50);
    expect(log).toEqual(['0 connecting(0)', '0 stopped(0): bad rtsp://***@cam/x']);
    const cfg = run(({ cold }) => sourceOf([cold('#', {}, new ConfigError('bad option'))]), 50);
    expect(cfg.log).toEqual(['0 connecting(0)', '0 stopped(0): bad option']);
  });

  it('a source that completes has ended for good: stopped, "end of input"', () => {
    const { log, completed } = run(({ cold }) => sourceOf([cold('-a-b|', values)]), 50);
    expect(log).toEqual(['0 connecting(0)', '1 streaming(0)', '1 #0@100', '3 #1@200', '4 stopped(0): end of input']);
    expect(completed).toBe(true);
  });

  it('unsubscribing closes the connection and cancels every timer', () => {
    let conn!: Connection;
    const { log, source } = run(({ cold }) => {
      conn = cold('-a------', values) as Connection;
      return sourceOf([conn]);
    }, 100, 4);
    expect(log).toEqual(['0 connecting(0)', '1 streaming(0)', '1 #0@100']);
    expect(conn.subscriptions.map((s) => [s.subscribedFrame, s.unsubscribedFrame])).toEqual([[0, 4]]);
    expect((source as FrameSource & { connects: number }).connects).toBe(1);
  });
});
