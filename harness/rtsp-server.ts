// A real RTSP server (mediamtx, built by scripts/setup-test-infra.sh) on 127.0.0.1,
// plus ffmpeg helpers to publish a test pattern into it and read frames back out.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import {
  INSTALL_HINT,
  cacheDir,
  canConnect,
  freePort,
  infraVersions,
  spawnManaged,
  tailFile,
  waitUntil,
  type ExitInfo,
  type LoopbackServer,
  type ManagedProcess,
  type RestartOptions,
} from './processes.js';

export type { RestartOptions } from './processes.js';

export interface RtspServer extends LoopbackServer {
  readonly port: number;
  /** rtsp://127.0.0.1:PORT/<path> */
  url(path: string): string;
}

export interface RtspServerOptions {
  readyTimeoutMs?: number;
  stopGraceMs?: number;
}

export interface Publisher {
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when ffmpeg exits (e.g. because the server went away). */
  readonly exited: Promise<ExitInfo>;
  stop(): Promise<void>;
}

export interface PublishOptions {
  fps: number;
  width: number;
  height: number;
  /** How long to wait until the stream is readable (default 30 s). */
  readyTimeoutMs?: number;
}

/** Path of the mediamtx binary; throws with the install hint when absent. */
export function mediamtxBinary(): string {
  const { mediamtx } = infraVersions();
  const bin = join(cacheDir(), 'mediamtx', mediamtx, 'mediamtx');
  if (!existsSync(bin)) throw new Error(`mediamtx ${mediamtx} not found at ${bin}: ${INSTALL_HINT}`);
  return bin;
}

// RTSP over TCP only: UDP would bind fixed RTP/RTCP ports shared by every server instance.
// Everything else mediamtx can serve is off so parallel servers never collide on ports.
function mediamtxConfig(port: number): string {
  return `logLevel: info
logDestinations: [stdout]
api: no
metrics: no
pprof: no
playback: no
rtmp: no
hls: no
webrtc: no
srt: no
rtsp: yes
rtspTransports: [tcp]
rtspEncryption: "no"
rtspAddress: 127.0.0.1:${port}
paths:
  all_others:
`;
}

export async function startRtspServer(opts: RtspServerOptions = {}): Promise<RtspServer> {
  const bin = mediamtxBinary();
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const stopGraceMs = opts.stopGraceMs ?? 5_000;
  const dir = await mkdtemp(join(tmpdir(), 'actionclip-rtsp-'));
  const logFile = join(dir, 'mediamtx.log');
  const configFile = join(dir, 'mediamtx.yml');
  const port = await freePort();
  await writeFile(configFile, mediamtxConfig(port));

  let proc: ManagedProcess | undefined;
  const launch = async (): Promise<void> => {
    proc = await spawnManaged(bin, [configFile], { logFile, cwd: dir });
    try {
      await waitUntil(`RTSP server on 127.0.0.1:${port}`, () => canConnect(port), {
        timeoutMs: readyTimeoutMs,
        intervalMs: 100,
        proc,
        logFile,
      });
    } catch (err) {
      await proc.stop(stopGraceMs);
      throw err;
    }
  };
  const kill = async (signal?: NodeJS.Signals): Promise<void> => {
    if (proc) await proc.stop(stopGraceMs, signal);
  };

  await launch();
  return {
    port,
    url: (path: string) => `rtsp://127.0.0.1:${port}/${path.replace(/^\/+/, '')}`,
    get pid(): number {
      if (!proc) throw new Error('RTSP server not started');
      return proc.pid;
    },
    logFile,
    async restart(restartOpts: RestartOptions = {}): Promise<void> {
      await kill(restartOpts.signal);
      await launch();
    },
    async stop(): Promise<void> {
      await kill();
      if (process.env.ACTIONCLIP_KEEP_TEST_DIRS !== '1') {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export interface StreamInfo {
  codec: string;
  width: number;
  height: number;
}

/** One ffprobe of an RTSP url; undefined when nothing (video) is readable there yet. */
export function probeStream(url: string, timeoutMs = 10_000): Promise<StreamInfo | undefined> {
  const args = [
    '-v', 'error',
    '-rtsp_transport', 'tcp',
    // Socket I/O timeout in microseconds, so a silent server cannot hang the probe.
    '-timeout', String(timeoutMs * 1000),
    // The SDP already carries the H.264 parameters; the default 5 s analysis only adds delay.
    '-analyzeduration', '500000',
    '-select_streams', 'v:0',
    '-show_entries', 'stream=codec_name,width,height',
    '-of', 'json',
    url,
  ];
  return new Promise((resolve) => {
    execFile('ffprobe', args, { timeout: timeoutMs + 2000 }, (err, stdout) => {
      if (err) return resolve(undefined);
      try {
        const parsed = JSON.parse(stdout) as {
          streams?: { codec_name?: string; width?: number; height?: number }[];
        };
        const s = parsed.streams?.[0];
        if (!s?.codec_name || !s.width || !s.height) return resolve(undefined);
        resolve({ codec: s.codec_name, width: s.width, height: s.height });
      } catch {
        resolve(undefined);
      }
    });
  });
}

/**
 * Publishes ffmpeg's synthetic test pattern as H.264 to `url` (RTSP over TCP) and resolves
 * once the stream can be read back. The test side needs ffmpeg on PATH (installed by
 * scripts/setup-test-infra.sh).
 */
export async function publishTestPattern(url: string, opts: PublishOptions): Promise<Publisher> {
  const { fps, width, height } = opts;
  const dir = await mkdtemp(join(tmpdir(), 'actionclip-publish-'));
  const logFile = join(dir, 'ffmpeg.log');
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'warning',
    '-re',
    '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=${fps}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
    // One keyframe per second so a reader joining late decodes within a second.
    '-g', String(fps),
    // testsrc is RGB; 4:2:0 keeps the stream in the profile every decoder handles.
    '-pix_fmt', 'yuv420p',
    '-f', 'rtsp', '-rtsp_transport', 'tcp',
    url,
  ];
  const proc = await spawnManaged('ffmpeg', args, { logFile });
  let ready = false;
  // Publishers also end on their own (server killed), so clean up on exit, not in stop().
  // A publisher that never got ready keeps its log: the error message points at it.
  const exited = proc.exited.then(async (info) => {
    if (ready && process.env.ACTIONCLIP_KEEP_TEST_DIRS !== '1') {
      await rm(dir, { recursive: true, force: true });
    }
    return info;
  });
  const stop = async (): Promise<void> => {
    // ffmpeg treats SIGTERM as a request to finish cleanly (RTSP TEARDOWN).
    await proc.stop(5_000);
    await exited;
  };
  try {
    await waitUntil(`test pattern at ${url}`, async () => (await probeStream(url, 5_000)) !== undefined, {
      timeoutMs: opts.readyTimeoutMs ?? 30_000,
      intervalMs: 250,
      proc,
      logFile,
    });
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  ready = true;
  return { pid: proc.pid, logFile, exited, stop };
}

export interface ReadFramesOptions {
  /** Frames to read before returning. */
  count: number;
  /** Scale to this size so the byte count per frame is known (default 64x64). */
  width?: number;
  height?: number;
  timeoutMs?: number;
}

export interface FrameReader {
  readonly pid: number;
  /** Frames received so far. */
  frames(): number;
  /** Resolves when ffmpeg exits: after `count` frames, on stream loss, or on stop(). */
  readonly done: Promise<{ frames: number; exit: ExitInfo; log: string }>;
  stop(): Promise<void>;
}

/**
 * Reads decoded frames from an RTSP url with ffmpeg (grayscale rawvideo on stdout) and
 * counts whole frames. Stays a separate process so tests can kill the server under it.
 */
export async function startFrameReader(url: string, opts: ReadFramesOptions): Promise<FrameReader> {
  const width = opts.width ?? 64;
  const height = opts.height ?? 64;
  const frameBytes = width * height;
  const dir = await mkdtemp(join(tmpdir(), 'actionclip-read-'));
  const logFile = join(dir, 'ffmpeg.log');
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'warning',
    '-rtsp_transport', 'tcp',
    '-timeout', String((opts.timeoutMs ?? 30_000) * 1000),
    '-analyzeduration', '500000',
    '-i', url,
    '-frames:v', String(opts.count),
    '-vf', `scale=${width}:${height}`,
    '-pix_fmt', 'gray',
    '-f', 'rawvideo',
    'pipe:1',
  ];
  const proc = await spawnManaged('ffmpeg', args, { logFile, pipeStdout: true });
  let bytes = 0;
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  let timer: NodeJS.Timeout | undefined;
  if (opts.timeoutMs) timer = setTimeout(() => void proc.stop(2_000), opts.timeoutMs);
  // 'close' comes after 'exit' once stdout is drained, so the byte count is final.
  const closed = new Promise<void>((r) => proc.child.once('close', () => r()));
  const done = Promise.all([proc.exited, closed]).then(async ([exit]) => {
    clearTimeout(timer);
    const log = tailFile(logFile);
    if (process.env.ACTIONCLIP_KEEP_TEST_DIRS !== '1') {
      await rm(dir, { recursive: true, force: true });
    }
    return { frames: Math.floor(bytes / frameBytes), exit, log };
  });
  return {
    pid: proc.pid,
    frames: () => Math.floor(bytes / frameBytes),
    done,
    stop: async () => {
      await proc.stop(2_000);
      await done;
    },
  };
}

/** Reads `count` frames and returns how many arrived (fewer on timeout or stream loss). */
export async function readFrames(url: string, opts: ReadFramesOptions): Promise<number> {
  const reader = await startFrameReader(url, { timeoutMs: 30_000, ...opts });
  return (await reader.done).frames;
}
