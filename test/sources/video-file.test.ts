import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { resolveFfmpeg } from '../../src/sources/ffmpeg-path.js';
import { buildFfmpegArgs, decodeVideo, listFrameFiles, parseOutputInfo, readFrameFolder, type RgbFrame } from '../../src/sources/video-file.js';

let dir: string;
let video: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'actionclip-video-'));
  video = path.join(dir, 'testsrc.mp4');
  // 2 s of ffmpeg's test pattern at 25 fps, 320×240.
  execFileSync(resolveFfmpeg().path, [
    '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=2:size=320x240:rate=25', '-pix_fmt', 'yuv420p', video,
  ]);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<RgbFrame>): Promise<RgbFrame[]> {
  const out: RgbFrame[] = [];
  for await (const f of it) out.push(f);
  return out;
}

function meanOf(rgb: Uint8Array): number {
  let s = 0;
  for (const v of rgb) s += v;
  return s / rgb.length;
}

describe('decodeVideo', () => {
  it('decodes every frame at the native size', async () => {
    const frames = await collect(decodeVideo(video));
    console.log(`[video] native: ${frames.length} frames ${frames[0].width}x${frames[0].height}, mean ${meanOf(frames[0].rgb).toFixed(1)}`);
    expect(frames.length).toBe(50);
    expect(frames[0]).toMatchObject({ index: 0, ptsMs: 0, width: 320, height: 240 });
    expect(frames[49].index).toBe(49);
    expect(frames[1].ptsMs).toBeCloseTo(40, 6);
    for (const f of frames) expect(f.rgb.length).toBe(320 * 240 * 3);
    // testsrc is colourful: not black, not saturated, channels differ.
    const m = meanOf(frames[10].rgb);
    expect(m).toBeGreaterThan(30);
    expect(m).toBeLessThan(230);
    // Top-left of testsrc's colour bars area is not uniform grey: R, G, B differ somewhere.
    const rgb = frames[10].rgb;
    let differ = 0;
    for (let i = 0; i < rgb.length; i += 3) if (Math.abs(rgb[i] - rgb[i + 2]) > 60) differ++;
    expect(differ).toBeGreaterThan(1000);
    // Frames change over time (testsrc has a moving counter/gradient).
    expect(Buffer.compare(Buffer.from(frames[0].rgb), Buffer.from(frames[49].rgb))).not.toBe(0);
  });

  it('resamples the frame rate and scales the short side', async () => {
    const frames = await collect(decodeVideo(video, { fps: 5, shortSide: 64 }));
    console.log(`[video] fps=5 shortSide=64: ${frames.length} frames ${frames[0].width}x${frames[0].height}`);
    expect(frames.length).toBeGreaterThanOrEqual(9);
    expect(frames.length).toBeLessThanOrEqual(11);
    expect(frames[0].height).toBe(64);
    expect(Math.abs(frames[0].width - 85)).toBeLessThanOrEqual(1);
    expect(frames[2].ptsMs).toBeCloseTo(400, 6);
  });

  it('honours explicit width/height and maxFrames', async () => {
    const frames = await collect(decodeVideo(video, { width: 32, height: 24, maxFrames: 7 }));
    expect(frames.length).toBe(7);
    expect(frames.every((f) => f.width === 32 && f.height === 24 && f.rgb.length === 32 * 24 * 3)).toBe(true);
  });

  it('stops ffmpeg when the consumer breaks early', async () => {
    let n = 0;
    for await (const f of decodeVideo(video)) {
      expect(f.width).toBe(320);
      if (++n === 3) break;
    }
    expect(n).toBe(3);
  });

  it('aborts with the signal', async () => {
    const ac = new AbortController();
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const f of decodeVideo(video, { signal: ac.signal })) {
          got.push(f.index);
          if (f.index === 2) ac.abort(new Error('stop now'));
        }
      })(),
    ).rejects.toThrow('stop now');
    expect(got).toEqual([0, 1, 2]);
  });

  it('a missing file gives a SourceError naming it and carrying ffmpeg stderr', async () => {
    const missing = path.join(dir, 'nope.mp4');
    const err = await collect(decodeVideo(missing)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).message).toContain(missing);
    expect((err as SourceError).message).toMatch(/No such file or directory/);
    expect((err as SourceError).retriable).toBe(false);
  });

  it('redacts credentials of a URL in errors', async () => {
    // Nothing listens on port 1: ffmpeg fails fast with "Connection refused".
    const url = 'rtsp://admin:hunter2@127.0.0.1:1/stream';
    const err = await collect(decodeVideo(url)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    const msg = (err as SourceError).message;
    console.log(`[video] rtsp error: ${msg.replace(/\n/g, ' | ')}`);
    expect(msg).toContain('rtsp://***@127.0.0.1:1/stream');
    expect(msg).not.toContain('hunter2');
    expect((err as SourceError).retriable).toBe(true);
  });

  it('rejects bad options before spawning', async () => {
    await expect(collect(decodeVideo(video, { fps: 0 }))).rejects.toThrow(SourceError);
    await expect(collect(decodeVideo(video, { maxFrames: 1.5 }))).rejects.toThrow(/maxFrames/);
  });

  it('builds an argument array (no shell) with the URL as one argument', () => {
    const url = 'file name; rm -rf $HOME.mp4';
    const args = buildFfmpegArgs(url, { fps: 8, shortSide: 256 });
    expect(args[args.indexOf('-i') + 1]).toBe(url);
    expect(args).toContain('-vf');
    expect(args.slice(-5)).toEqual(['-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  });

  it('parses ffmpeg output stream info without confusing codec tags for sizes', () => {
    const stderr = `Output #0, rawvideo, to 'pipe:1':\n    Stream #0:0(und): Video: rawvideo (RGB[24] / 0x18424752), rgb24, 85x64 [SAR 256:255 DAR 4:3], q=2-31, 652 kb/s, 5 fps, 5 tbn, 5 tbc (default)\n`;
    expect(parseOutputInfo(stderr)).toEqual({ width: 85, height: 64, fps: 5 });
    expect(parseOutputInfo('Input #0 ... Stream #0:0: Video: h264, 320x240')).toBeUndefined();
  });

  it('waits for the whole stream line: a chunk cut before the frame rate is not parsed yet', () => {
    const line = `Output #0, rawvideo, to 'pipe:1':\n    Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24, 320x240, q=2-31, 46080 kb/s, 25 fps, 25 tbn\n`;
    const cut = line.indexOf('q=2-31');
    expect(parseOutputInfo(line.slice(0, cut))).toBeUndefined();
    expect(parseOutputInfo(line)).toEqual({ width: 320, height: 240, fps: 25 });
  });
});

describe('readFrameFolder', () => {
  let frames: string;
  beforeAll(async () => {
    frames = path.join(dir, 'frames');
    mkdirSync(frames, { recursive: true });
    // Natural order matters: img_2 before img_10.
    for (const i of [1, 2, 10]) {
      const raw = Buffer.alloc(20 * 10 * 3);
      for (let p = 0; p < 200; p++) raw.set([i * 20, 100, 200 - i * 10], p * 3);
      await sharp(raw, { raw: { width: 20, height: 10, channels: 3 } }).png().toFile(path.join(frames, `img_${i}.png`));
    }
    // A greyscale+alpha PNG still decodes to 3-channel RGB.
    await sharp(Buffer.alloc(20 * 10 * 2, 77), { raw: { width: 20, height: 10, channels: 2 } }).png().toFile(path.join(frames, 'img_11.png'));
    writeFileSync(path.join(frames, 'notes.txt'), 'not a frame');
  });

  it('lists images in natural order and decodes them to RGB', async () => {
    expect((await listFrameFiles(frames)).map((f) => path.basename(f))).toEqual(['img_1.png', 'img_2.png', 'img_10.png', 'img_11.png']);
    const got = await collect(readFrameFolder(frames, { fps: 10 }));
    expect(got.map((f) => f.index)).toEqual([0, 1, 2, 3]);
    expect(got[3].ptsMs).toBeCloseTo(300, 6);
    for (const f of got) expect(f).toMatchObject({ width: 20, height: 10 });
    expect(Array.from(got[2].rgb.slice(0, 3))).toEqual([200, 100, 100]);
    expect(Array.from(got[1].rgb.slice(0, 3))).toEqual([40, 100, 180]);
    expect(Array.from(got[3].rgb.slice(0, 3))).toEqual([77, 77, 77]);
    expect(got[3].rgb.length).toBe(20 * 10 * 3);
  });

  it('a missing or empty folder gives a SourceError', async () => {
    await expect(collect(readFrameFolder(path.join(dir, 'absent')))).rejects.toThrow(SourceError);
    const empty = path.join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    await expect(collect(readFrameFolder(empty))).rejects.toThrow(/no jpg\/png/);
  });
});
