import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { CameraConfig } from '../../config/schema.js';
import { redactText } from '../sources/redact.js';
import { resolveFfmpeg } from '../sources/ffmpeg-path.js';
import type { PreviewInfo } from './http-api.js';

/** The part of node-rtsp-stream's VideoStream used here (the package ships no types). */
interface VideoStream {
  stop(): void;
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

const require = createRequire(import.meta.url);

/**
 * Optional live preview for browsers (off by default; `preview.enabled`): node-rtsp-stream runs one
 * ffmpeg per camera transcoding to MPEG1 in MPEG-TS and serves it on its own WebSocket port, which a
 * JSMpeg player draws on a canvas. It is a viewer for operators, separate from the analysis path.
 *
 * node-rtsp-stream copies ffmpeg's stderr (which echoes the input URL with its credentials) to
 * process.stderr; that listener is replaced by one that logs redacted lines at debug level.
 */
export class PreviewRelay {
  private readonly streams = new Map<string, { stream: VideoStream; wsPort: number }>();
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
    stream.mpeg1Muxer.removeAllListeners('ffmpegStderr');
    stream.mpeg1Muxer.on('ffmpegStderr', (d) => log?.debug(redactText(d.toString()).trim()));
    stream.on('exitWithError', () => log?.warn('preview ffmpeg exited with an error'));
    this.streams.set(camera.id, { stream, wsPort });
    log?.info({ wsPort }, 'preview relay started');
    return { camera: camera.id, wsPort };
  }

  info(id: string): PreviewInfo | undefined {
    const s = this.streams.get(id);
    return s === undefined ? undefined : { camera: id, wsPort: s.wsPort };
  }

  stop(id: string): void {
    const s = this.streams.get(id);
    if (s === undefined) return;
    this.streams.delete(id);
    this.freePorts.push(s.wsPort);
    try {
      s.stream.stop();
    } catch {
      /* already gone */
    }
  }

  stopAll(): void {
    for (const id of [...this.streams.keys()]) this.stop(id);
  }
}
