/**
 * The benchmark's cameras: H.264 clips encoded once per resolution (25 fps, a keyframe every 2 s,
 * no B-frames, as IP cameras send), each looped to mediamtx by a feeder that copies packets
 * (`-re -stream_loop -1 -c copy`), so a feeder costs almost nothing; its CPU is still measured and
 * reported apart from the service's.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { spawnManaged, type ManagedProcess } from '../../harness/processes.js';
import { probeStream } from '../../harness/rtsp-server.js';

const run = promisify(execFile);

export const RESOLUTIONS = { '360p': [640, 360], '720p': [1280, 720], '1080p': [1920, 1080] } as const;
export type Resolution = keyof typeof RESOLUTIONS;

const CLIP_SECONDS = 20;
const FPS = 25;
const GOP = 50;

/** Encodes (once; kept in `dir`) a moving test pattern at a resolution. */
export async function ensureClip(dir: string, res: Resolution): Promise<string> {
  const [w, h] = RESOLUTIONS[res];
  const file = path.join(dir, `${res}-${FPS}fps-gop${GOP}.mp4`);
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp.mp4`;
  // testsrc2 moves every frame, so P-frames carry real motion as a camera's do.
  await run('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=${FPS}`, '-t', String(CLIP_SECONDS),
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-bf', '0', '-g', String(GOP), '-keyint_min', String(GOP), '-sc_threshold', '0',
    '-pix_fmt', 'yuv420p', '-b:v', `${Math.round((w * h) / 250)}k`,
    tmp,
  ]);
  await rename(tmp, file);
  return file;
}

/** Loops `clip` to `url` in real time without re-encoding; resolves when the stream is readable. */
export async function startFeeder(clip: string, url: string, logFile: string): Promise<ManagedProcess> {
  const proc = await spawnManaged('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'warning', '-re', '-stream_loop', '-1', '-i', clip, '-c', 'copy', '-f', 'rtsp', '-rtsp_transport', 'tcp', url], { logFile });
  for (let i = 0; i < 60; i++) {
    if ((await probeStream(url, 5_000)) !== undefined) return proc;
    await new Promise((r) => setTimeout(r, 250));
  }
  await proc.stop(2_000);
  throw new Error(`feeder for ${url} never became readable; see ${logFile}`);
}
