import { ConfigError } from '../errors.js';
import { ffmpegCamera } from './ffmpeg-camera.js';
import type { FrameSource } from './frame-source.js';
import type { SchemeTraits, SourceOptions, SourceScheme } from './source-scheme.js';

export type { SchemeTraits, SourceOptions, SourceScheme };
import { v4l2Input } from './v4l2.js';

/**
 * The sources by URL scheme, in one table: what each scheme means and what opens it. Cameras,
 * video decoding and config validation all ask here; a scheme that is not in the table is refused.
 * A new kind of source is one entry (and, if ffmpeg cannot read it, its own `open`).
 */
const asIs = (url: string) => ({ options: [], input: url });
const CAMERA: SchemeTraits = { live: true, wallclock: true, network: true, endless: true };
const PULLED: SchemeTraits = { live: true, wallclock: false, network: true, endless: true };
const pushed = (protocols: string): SourceScheme => ({ ...CAMERA, protocols, ffmpegInput: asIs });
const rtsp = (protocols: string): SourceScheme => ({ ...CAMERA, protocols, ffmpegInput: (url) => ({ options: ['-rtsp_transport', 'tcp'], input: url }) });
const pulled = (protocols: string): SourceScheme => ({ ...PULLED, protocols, ffmpegInput: asIs });

export const SCHEMES: Readonly<Record<string, SourceScheme>> = {
  rtsp: rtsp('rtsp,rtp,tcp,udp'),
  rtsps: rtsp('rtsps,rtsp,rtp,tcp,udp,tls'),
  rtmp: pushed('rtmp,tcp'),
  rtmps: pushed('rtmps,rtmp,tcp,tls'),
  rtp: pushed('rtp,udp'),
  srt: pushed('srt,udp'),
  udp: pushed('udp'),
  tcp: pushed('tcp'),
  mms: pushed('mms,mmst,tcp'),
  mmsh: pulled('mmsh,http,tcp'),
  http: pulled('http,tcp'),
  // HLS playlists over https fetch their segments over https too.
  https: pulled('https,http,tcp,tls'),
  file: { live: false, wallclock: false, network: false, endless: false, protocols: 'file', ffmpegInput: asIs },
  // A capture device is live and stamped with the wall clock, but not on the network.
  v4l2: { live: true, wallclock: true, network: false, endless: true, ffmpegInput: (url) => { const v = v4l2Input(url); return { options: v.input, input: v.device }; } },
  // A synthetic source (`lavfi:testsrc=size=64x48:rate=10`) for demos and tests: it synthesises for ever.
  lavfi: { live: false, wallclock: false, network: false, endless: true, ffmpegInput: (url) => ({ options: ['-f', 'lavfi'], input: url.slice('lavfi:'.length) }) },
};

// Two letters at least, so a Windows drive ("C:\clip.mp4") reads as a path.
const SCHEME = /^([a-z][a-z0-9+.-]+):/i;

/** The URL's scheme in lower case; `file` for a plain path. */
export function schemeOf(url: string): string {
  return SCHEME.exec(url)?.[1].toLowerCase() ?? 'file';
}

/** The scheme entry for a URL. @throws ConfigError naming the scheme and the ones supported. */
export function describeUrl(url: string): SourceScheme {
  const scheme = schemeOf(url);
  const entry = Object.hasOwn(SCHEMES, scheme) ? SCHEMES[scheme] : undefined;
  if (entry === undefined) throw new ConfigError(`unsupported camera URL scheme "${scheme}:"; use one of ${Object.keys(SCHEMES).join(', ')} or a file path`);
  return entry;
}

/** The source a URL names, not yet connected. @throws ConfigError for an unsupported scheme or a malformed URL. */
export function openFrameSource(url: string, opts: SourceOptions): FrameSource {
  const scheme = describeUrl(url);
  return (scheme.open ?? ffmpegCamera)(url, scheme, opts);
}

export interface UrlKind {
  readonly live: boolean;
  readonly wallclock: boolean;
  readonly network: boolean;
}

/** The traits that decide how a URL is read; an unknown `scheme://` counts as a network input. */
export function urlKind(url: string): UrlKind {
  const scheme = schemeOf(url);
  if (Object.hasOwn(SCHEMES, scheme)) {
    const { live, wallclock, network } = SCHEMES[scheme];
    return { live, wallclock, network };
  }
  return { live: false, wallclock: false, network: /^[a-z][a-z0-9+.-]*:\/\//i.test(url) };
}
