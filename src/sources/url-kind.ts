/**
 * What a source URL is, in one place: cameras and video decoding both ask here.
 *
 * - live: a network input, whose ffmpeg exiting means "reconnect", never "done".
 * - wallclock: push-style network inputs, where a packet's receive time is its capture time give
 *   or take the network. ffmpeg stamps their packets with the wall clock, so frames buffered
 *   during the RTSP probe keep their own times. Pull-style inputs (HTTP, HLS) download in bursts
 *   and keep the stream's own timestamps.
 * - network: any `scheme://` other than `file:`; a failure reading it may pass.
 */
export interface UrlKind {
  readonly live: boolean;
  readonly wallclock: boolean;
  readonly network: boolean;
}

// A capture device (v4l2) is live and stamped with the wall clock, but not on the network.
const LIVE = /^(rtsps?|rtmps?|rtp|srt|udp|tcp|https?|mms|mmsh|v4l2):\/\//i;
const WALLCLOCK = /^(rtsps?|rtmps?|rtp|srt|udp|tcp|mms|v4l2):\/\//i;
const ANY_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

export function urlKind(url: string): UrlKind {
  return { live: LIVE.test(url), wallclock: WALLCLOCK.test(url), network: ANY_SCHEME.test(url) && !/^(file|v4l2):/i.test(url) };
}
