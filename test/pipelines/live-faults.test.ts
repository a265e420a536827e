// How the live pipeline meets engine faults. The camera is real (ffmpeg's lavfi test pattern,
// supervised like any camera); the engine is the deterministic test double, because an engine
// that loses its device or answers with the wrong shape cannot be produced on demand with a real
// model: those two faults are injected through the double (`failNext`, `wrongShapeNext`).
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startLive, type LiveHandle } from '../../pipelines/live.js';
import { silentLogger } from '../../src/observability/logger.js';
import { DeterministicEngine } from '../support/deterministic-engine.js';
import { patternLiveConfig } from '../support/pattern-live.js';

let live: LiveHandle | undefined;
afterEach(async () => {
  await live?.stop();
  live = undefined;
});

async function start(engine: DeterministicEngine): Promise<{ live: LiveHandle; windows: () => number; states: string[] }> {
  const config = patternLiveConfig();
  live = await startLive({ config, engine, logger: silentLogger() });
  const ws = new WebSocket(`ws://127.0.0.1:${live.port}/ws`);
  let windows = 0;
  const states: string[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { type: string; state?: { status: string; since: number } };
    if (m.type === 'window') windows++;
    if (m.type === 'camera') states.push(`${m.state!.status}@${m.state!.since}`);
  });
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const stop = live.stop.bind(live);
  (live as { stop: () => Promise<void> }).stop = async () => (ws.terminate(), await stop());
  return { live, windows: () => windows, states };
}

const until = async (what: string, cond: () => boolean, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('live pipeline under engine faults', () => {
  it('a retriable fault (the engine call rejects) restarts the flow, and windows keep coming', async () => {
    const engine = new DeterministicEngine({ imageSize: 4 });
    const run = await start(engine);
    await until('a first window', () => run.windows() >= 1);
    // A client that has not subscribed is greeted with the current states after 1 s: let that pass,
    // so what comes after the fault is the flow's own.
    await new Promise((r) => setTimeout(r, 1200));
    const seen = run.states.slice();
    engine.failNext = new Error('device lost');
    const before = run.windows();
    await until('windows after the fault', () => run.windows() >= before + 3);
    expect(engine.failNext).toBeUndefined(); // the fault was hit
    expect((await fetch(`${run.live.url}/ready`)).status).toBe(200);
    // Counted, with its kind as the reason.
    expect(await (await fetch(`${run.live.url}/metrics`)).text()).toMatch(/^actionclip_faults_retried_total\{component="pipeline",reason="[a-z-]+"\} [1-9]/m);
    const settled = await Promise.race([run.live.failed.then(() => 'failed'), new Promise((r) => setTimeout(() => r('running'), 100))]);
    expect(settled).toBe('running');
    // The restarted flow re-reads the replaying camera states; subscribers see each change once.
    expect(seen.some((s) => s.startsWith('streaming@'))).toBe(true);
    expect(run.states.slice(seen.length).filter((s) => seen.includes(s))).toEqual([]);
  }, 60_000);

  it('a fatal fault (a wrong-shaped answer) stops the pipeline once: failed resolves, /ready is 503 and says why', async () => {
    const engine = new DeterministicEngine({ imageSize: 4 });
    const run = await start(engine);
    await until('a first window', () => run.windows() >= 1);
    engine.wrongShapeNext = true;
    const err = await run.live.failed;
    expect(err.message).toMatch(/returned \d+ values/);
    const ready = await fetch(`${run.live.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, error: expect.stringMatching(/returned/) });
    const calls = engine.calls.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(engine.calls.length).toBe(calls); // no restart: nothing is encoded any more
  }, 60_000);
});
