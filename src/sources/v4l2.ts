import { ConfigError } from '../errors.js';

/**
 * A V4L2 capture device as a camera: `v4l2:///dev/video0`, optionally with capture settings as
 * query parameters that map one to one onto ffmpeg's v4l2 demuxer options:
 * `v4l2:///dev/video0?input_format=mjpeg&video_size=1280x720&framerate=30`.
 * Only these three are accepted, each checked against its own syntax, so a URL can never smuggle
 * other ffmpeg options in.
 */
const OPTIONS: Record<string, RegExp> = {
  input_format: /^[a-z0-9_]{2,16}$/i,
  video_size: /^\d{1,5}x\d{1,5}$/,
  framerate: /^\d{1,3}(\/\d{1,3})?$/,
};

export function isV4l2Url(url: string): boolean {
  return /^v4l2:\/\//i.test(url);
}

/** ffmpeg's input arguments and input path for a `v4l2://` URL. @throws ConfigError naming what is wrong. */
export function v4l2Input(url: string): { input: string[]; device: string } {
  const u = new URL(url);
  if (u.host !== '' || !u.pathname.startsWith('/dev/')) throw new ConfigError(`v4l2 camera URL must name a device under /dev, like v4l2:///dev/video0 (got ${url})`);
  const input = ['-f', 'v4l2'];
  for (const [key, value] of u.searchParams) {
    const syntax = OPTIONS[key];
    if (syntax === undefined) throw new ConfigError(`v4l2 option "${key}" is not supported; use ${Object.keys(OPTIONS).join(', ')}`);
    if (!syntax.test(value)) throw new ConfigError(`v4l2 option ${key}=${JSON.stringify(value)} is malformed`);
    input.push(`-${key}`, value);
  }
  return { input, device: decodeURIComponent(u.pathname) };
}
