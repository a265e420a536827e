import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import type { DecodeTuning } from '../../config/schema.js';
import type { FrameSource } from './frame-source.js';

/** What a URL scheme means for reading it; the table of schemes is `registry.ts`. */
export interface SchemeTraits {
  /** The input paces itself (a camera); a file or a synthetic source is read with `-re` to behave like one. */
  readonly live: boolean;
  /**
   * Push-style inputs whose packet receive time is their capture time, give or take the network:
   * ffmpeg stamps them with the wall clock, so frames buffered during the RTSP probe keep their
   * own times. Pull-style inputs (HTTP, HLS) download in bursts and keep the stream's timestamps.
   */
  readonly wallclock: boolean;
  /** Read over the network: a failure to read it may pass. */
  readonly network: boolean;
  /** The input never ends by itself: ffmpeg exiting means "reconnect", never "done". */
  readonly endless: boolean;
}

export interface SourceScheme extends SchemeTraits {
  /**
   * ffmpeg's `-protocol_whitelist` for this scheme: the protocols its input may open, so nothing
   * else (`concat:`, `subfile:`, `file:` inside a playlist) can be smuggled in through it. Device
   * and filter inputs open no protocol.
   */
  readonly protocols?: string;
  /** ffmpeg's input options and the `-i` argument for a URL of this scheme. @throws ConfigError */
  readonly ffmpegInput: (url: string) => { readonly options: readonly string[]; readonly input: string };
  /** Opens the source; default `ffmpegCamera`. @throws ConfigError when the URL is malformed. */
  readonly open?: (url: string, scheme: SourceScheme, opts: SourceOptions) => FrameSource;
}

/** What opening any source needs: the sampled rate and size, and how to run ffmpeg. */
export interface SourceOptions {
  /** Frames sampled per second (ffmpeg's fps filter). */
  readonly fps: number;
  /** Output size; scaling happens inside ffmpeg. */
  readonly width: number;
  readonly height: number;
  /** How ffmpeg decodes and scales (config `decode`); absent fields keep ffmpeg's own behaviour. */
  readonly tuning?: Partial<DecodeTuning>;
  readonly ffmpegPath: string;
  /** Read inputs that do not pace themselves (files, lavfi) at their native rate (`-re`). Default true. */
  readonly realtime?: boolean;
  /** Capture timestamps and the wait for late showinfo lines. Default asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  readonly logger?: Logger;
}
