import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { resolveFfmpeg, resolveFfprobe } from '../../src/sources/ffmpeg-path.js';

const saved = process.env.FFMPEG_PATH;
afterEach(() => {
  if (saved === undefined) delete process.env.FFMPEG_PATH;
  else process.env.FFMPEG_PATH = saved;
});

describe('resolveFfmpeg', () => {
  it('finds a working ffmpeg from a package or PATH', () => {
    delete process.env.FFMPEG_PATH;
    const r = resolveFfmpeg();
    console.log(`[ffmpeg] ${r.source}: ${r.path}`);
    expect(['ffmpeg-static', '@ffmpeg-installer/ffmpeg', 'PATH']).toContain(r.source);
    expect(execFileSync(r.path, ['-hide_banner', '-version']).toString()).toMatch(/ffmpeg version/);
  });

  it('prefers FFMPEG_PATH', () => {
    delete process.env.FFMPEG_PATH;
    const found = resolveFfmpeg().path;
    process.env.FFMPEG_PATH = found;
    expect(resolveFfmpeg()).toEqual({ path: found, source: 'FFMPEG_PATH' });
  });

  it('rejects an FFMPEG_PATH that is not executable', () => {
    process.env.FFMPEG_PATH = '/nonexistent/ffmpeg';
    expect(() => resolveFfmpeg()).toThrow(SourceError);
    expect(() => resolveFfmpeg()).toThrow(/FFMPEG_PATH=\/nonexistent\/ffmpeg/);
  });

  it('resolveFfprobe returns a path or null without throwing', () => {
    delete process.env.FFMPEG_PATH;
    const p = resolveFfprobe();
    expect(p === null || typeof p.path === 'string').toBe(true);
  });
});
