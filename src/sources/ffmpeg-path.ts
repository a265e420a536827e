/**
 * Locates the ffmpeg (and ffprobe) binaries. Order: the FFMPEG_PATH environment variable,
 * `ffmpeg-static` (optional; its install step downloads the binary and fails offline, so the
 * module may resolve without a binary), `@ffmpeg-installer/ffmpeg` (ships the binary in a
 * platform package), then `ffmpeg` on PATH.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SourceError } from '../errors.js';

export type FfmpegSource = 'FFMPEG_PATH' | 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg' | 'PATH';
export interface ResolvedBinary<S extends string = FfmpegSource> {
  path: string;
  source: S;
}

const require = createRequire(import.meta.url);

export function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Loads an optional CommonJS package; undefined when it is not installed or throws on load. */
function optionalRequire(name: string): unknown {
  try {
    return require(name) as unknown;
  } catch {
    // Not installed, or (like @ffmpeg-installer) it throws when its binary is missing.
    return undefined;
  }
}

function findOnPath(name: string): string | undefined {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE').split(';') : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

export function resolveFfmpeg(): ResolvedBinary {
  const fromEnv = process.env.FFMPEG_PATH;
  if (fromEnv) {
    // An explicit setting that does not work is an error, not something to silently route around.
    if (!isExecutableFile(fromEnv)) throw new SourceError(`FFMPEG_PATH=${fromEnv} is not an executable file`, false);
    return { path: fromEnv, source: 'FFMPEG_PATH' };
  }
  const ffStatic = optionalRequire('ffmpeg-static');
  if (typeof ffStatic === 'string' && isExecutableFile(ffStatic)) return { path: ffStatic, source: 'ffmpeg-static' };
  const installer = optionalRequire('@ffmpeg-installer/ffmpeg') as { path?: unknown } | undefined;
  if (installer && typeof installer.path === 'string' && isExecutableFile(installer.path)) {
    return { path: installer.path, source: '@ffmpeg-installer/ffmpeg' };
  }
  const onPath = findOnPath('ffmpeg');
  if (onPath) return { path: onPath, source: 'PATH' };
  throw new SourceError(
    'ffmpeg not found: set FFMPEG_PATH, install ffmpeg-static or @ffmpeg-installer/ffmpeg, or put ffmpeg on PATH',
    false,
  );
}

export type FfprobeSource = 'FFPROBE_PATH' | 'beside-ffmpeg' | 'PATH';

/** ffprobe if one can be found (FFPROBE_PATH, next to the resolved ffmpeg, PATH); null otherwise. */
export function resolveFfprobe(): ResolvedBinary<FfprobeSource> | null {
  const fromEnv = process.env.FFPROBE_PATH;
  if (fromEnv) {
    if (!isExecutableFile(fromEnv)) throw new SourceError(`FFPROBE_PATH=${fromEnv} is not an executable file`, false);
    return { path: fromEnv, source: 'FFPROBE_PATH' };
  }
  try {
    const ff = resolveFfmpeg();
    const beside = path.join(path.dirname(ff.path), path.basename(ff.path).replace(/ffmpeg/i, 'ffprobe'));
    if (beside !== ff.path && isExecutableFile(beside)) return { path: beside, source: 'beside-ffmpeg' };
  } catch {
    // No ffmpeg either; PATH below is the last chance.
  }
  const onPath = findOnPath('ffprobe');
  return onPath ? { path: onPath, source: 'PATH' } : null;
}
