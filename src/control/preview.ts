import type { ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { CameraConfig } from '../../config/schema.js';
import { redactText } from '../sources/redact.js';
import { resolveFfmpeg } from '../sources/ffmpeg-path.js';
import type { PreviewInfo } from './control-plane.js';

/** The part of node-rtsp-stream's VideoStream used here (the package ships no types). */
interface VideoStream {
  stop(): void;
  /** ffmpeg (node-rtsp-stream spawns it in the constructor). */
  stream: ChildProcess;
  /** ws@7 server on its own port; emits 'error' (e.g. EADDRINUSE) and 'close'. */
  wsServer: EventEmitter;
  mpeg1Muxer: { removeAllListeners(event: string): void; on(event: string, fn: (d: Buffer) => void): void };
  on(event: 'exitWithError', fn: () => void): void;
}
type VideoStreamCtor = new (opts: {
  name: string;
  streamUrl: string;
  wsPort: number;
  width?: number;
  height?: number;
  ffmpegPath?: string;
  ffmpegOptions?: Record<string, string>;
}) => VideoStream;

interface Relay {
  readonly stream: VideoStream;
  readonly wsPort: number;
  /** Resolves once ffmpeg has exited and its pipes are closed. */
  readonly ffmpegGone: Promise<void>;
  /** Resolves once the WebSocket port is closed. */
  readonly portClosed: Promise<void>;
}

const require = createRequire(import.meta.url);

/**
 * Optional live preview for browsers (off by default; `preview.enabled`): node-rtsp-stream runs one
 * ffmpeg per camera transcoding to MPEG1 in MPEG-TS and serves it on its own WebSocket port, which a
 * JSMpeg player draws on a canvas. It is a viewer for operators, separate from the analysis path.
 *
 * node-rtsp-stream copies ffmpeg's stderr (which echoes the input URL with its credentials) to
 * process.stderr; that listener is replaced by one that logs whole, redacted lines at debug level.
 * Its WebSocket server and ffmpeg have no 'error' listeners (a taken port or a missing binary would
 * end the process); errors are logged here and that camera's preview is stopped instead.
 */
export class PreviewRelay {
  private readonly streams = new Map<string, Relay>();
  private readonly freePorts: number[] = [];
  private nextPort: number;

  constructor(private readonly opts: { basePort: number; ffmpegPath?: string; logger?: Logger; width?: number; height?: number }) {
    this.nextPort = opts.basePort;
  }

  start(camera: CameraConfig): PreviewInfo {
    const existing = this.streams.get(camera.id);
    if (existing !== undefined) return { camera: camera.id, wsPort: existing.wsPort };
    const Ctor = require('node-rtsp-stream') as VideoStreamCtor;
    const wsPort = this.freePorts.shift() ?? this.nextPort++;
    const stream = new Ctor({
      name: camera.id,
      streamUrl: camera.url,
      wsPort,
      width: this.opts.width ?? 640,
      height: this.opts.height ?? 480,
      ffmpegPath: this.opts.ffmpegPath ?? resolveFfmpeg().path,
      // Options follow `-i URL` in node-rtsp-stream's argument array; keep the preview light.
      ffmpegOptions: { '-stats': '', '-r': '25', '-b:v': '800k', '-an': '' },
    });
    const log = this.opts.logger?.child({ camera: camera.id, component: 'preview' });
    // Whole lines only: a URL split across two chunks would escape redaction.
    let partial = '';
    stream.mpeg1Muxer.removeAllListeners('ffmpegStderr');
    stream.mpeg1Muxer.on('ffmpegStderr', (d) => {
      const lines = (partial + d.toString()).split(/\r\n|\r|\n/);
      partial = (lines.pop() ?? '').slice(-4096);
      for (const line of lines) if (line.trim() !== '') log?.debug(redactText(line).trim());
    });
    stream.on('exitWithError', () => log?.warn('preview ffmpeg exited with an error'));
    const ffmpegGone = new Promise<void>((resolve) => stream.stream.once('close', () => resolve()));
    const portClosed = new Promise<void>((resolve) => stream.wsServer.once('close', () => resolve()));
    const relay: Relay = { stream, wsPort, ffmpegGone, portClosed };
    stream.stream.on('error', (err: NodeJS.ErrnoException) => {
      log?.warn({ code: err.code }, `preview ffmpeg failed: ${redactText(err.message)}`);
      void this.stopRelay(camera.id, relay, true);
    });
    stream.wsServer.on('error', (err: NodeJS.ErrnoException) => {
      log?.warn({ wsPort, code: err.code }, `preview WebSocket port ${wsPort} unavailable: ${err.code ?? err.message}`);
      // The port is someone else's: do not hand it to the next camera.
      void this.stopRelay(camera.id, relay, false);
    });
    this.streams.set(camera.id, relay);
    log?.info({ wsPort }, 'preview relay started');
    return { camera: camera.id, wsPort };
  }

  info(id: string): PreviewInfo | undefined {
    const s = this.streams.get(id);
    return s === undefined ? undefined : { camera: id, wsPort: s.wsPort };
  }

  /** PID of the camera's preview ffmpeg (health checks, tests). */
  pid(id: string): number | undefined {
    return this.streams.get(id)?.stream.stream.pid;
  }

  /** Resolves once the camera's ffmpeg has exited and its WebSocket port is closed. */
  async stop(id: string): Promise<void> {
    const s = this.streams.get(id);
    if (s !== undefined) await this.stopRelay(id, s, true);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.streams.keys()].map((id) => this.stop(id)));
  }

  private async stopRelay(id: string, s: Relay, reusePort: boolean): Promise<void> {
    if (this.streams.get(id) === s) {
      this.streams.delete(id);
      if (reusePort) this.freePorts.push(s.wsPort);
      try {
        s.stream.stop(); // closes the WebSocket server (and its clients), SIGTERMs ffmpeg
      } catch {
        /* already gone */
      }
      // ffmpeg normally exits at once on SIGTERM; a wedged network read may not.
      const p = s.stream.stream;
      const t = setTimeout(() => p.kill('SIGKILL'), 2000);
      t.unref();
      void s.ffmpegGone.then(() => clearTimeout(t));
    }
    await Promise.all([s.ffmpegGone, s.portClosed]);
  }
}
