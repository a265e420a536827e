/**
 * The decodeVideo flake of issue 15: "moving_left_083.mp4 decoded to no frames" under two parallel
 * training runs. Cause: a short clip's whole output fits in the pipe, so its ffmpeg can run start
 * to end while the event loop is busy in a callback. When libuv then reaps it along with another
 * child's SIGCHLD before its stderr header was read, Node's child_process resumes the unread stdout
 * (flushStdio) and the frames are discarded: ffmpeg exits 0 and nothing was decoded. Here the load is
 * made for real: many decodes in parallel whose consumers block the event loop inside I/O callbacks,
 * as training's synchronous tensor work does. Before the fix most decodes started this way got no frames.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveFfmpeg } from '../../src/sources/ffmpeg-path.js';
import { decodeVideo } from '../../src/sources/video-file.js';

let dir: string;
let clip: string;
const FRAMES = 16;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'actionclip-decode-stress-'));
  clip = path.join(dir, 'moving_left_083.mp4');
  // The synthetic training clips' size: 16 frames of 40×32, 61 KB of RGB, less than a pipe holds.
  execFileSync(resolveFfmpeg().path, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=40x32:rate=8`, '-frames:v', String(FRAMES), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', clip]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Blocks the event loop, as a synchronous training step does. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

async function countFrames(): Promise<number> {
  let n = 0;
  for await (const f of decodeVideo(clip)) {
    expect(f.rgb.length).toBe(40 * 32 * 3);
    n++;
  }
  return n;
}

it('many parallel decodes on a busy event loop each get every frame', async () => {
  const counts: number[] = [];
  for (let round = 0; round < 6; round++) {
    const started: Promise<number>[] = [];
    let n = 0;
    for await (const _ of decodeVideo(clip)) {
      n++;
      // Inside the stdout callback of one decode, start others and block: they run to their exit meanwhile.
      if (n % 4 === 0) {
        for (let k = 0; k < 3; k++) started.push(countFrames());
        busy(150);
      }
    }
    counts.push(n, ...(await Promise.all(started)));
  }
  // And a plain parallel burst, with the loop blocked between spawns.
  const burst = Array.from({ length: 24 }, (_, i) => {
    const p = countFrames();
    if (i % 6 === 0) busy(100);
    return p;
  });
  counts.push(...(await Promise.all(burst)));
  expect(counts.filter((c) => c !== FRAMES)).toEqual([]);
  expect(counts.length).toBe(6 * 13 + 24);
});
