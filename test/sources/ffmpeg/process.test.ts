// The one ffmpeg process module, against the real ffmpeg: framing, stderr tails, exits and kills.
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/errors.js';
import { LineSplitter } from '../../../src/sources/ffmpeg/lines.js';
import { FfmpegProcess, describeExit } from '../../../src/sources/ffmpeg/process.js';
import { RawFrameCutter } from '../../../src/sources/ffmpeg/raw-frames.js';
import { resolveFfmpeg } from '../../../src/sources/ffmpeg-path.js';
import { freePort } from '../../../harness/processes.js';

const ffmpeg = resolveFfmpeg().path;

describe('RawFrameCutter', () => {
  it('cuts any chunking into the same whole frames, each its own buffer', () => {
    const bytes = Uint8Array.from({ length: 5 * 6 }, (_, i) => i);
    for (const sizes of [[30], [1, 29], [7, 7, 7, 9], [6, 6, 6, 6, 6], [13, 2, 15]]) {
      const cutter = new RawFrameCutter(6);
      const frames: number[][] = [];
      let off = 0;
      for (const n of sizes) {
        for (const f of cutter.push(bytes.subarray(off, off + n))) {
          expect(f.buffer.byteLength).toBe(6); // not a view into a shared pool
          frames.push([...f]);
        }
        off += n;
      }
      expect(frames).toEqual([0, 1, 2, 3, 4].map((k) => [0, 1, 2, 3, 4, 5].map((i) => k * 6 + i)));
      expect(cutter.pendingBytes).toBe(0);
    }
    const cutter = new RawFrameCutter(4);
    expect(cutter.push(new Uint8Array(6))).toHaveLength(1);
    expect(cutter.pendingBytes).toBe(2);
    expect(() => new RawFrameCutter(0)).toThrow(/positive integer/);
  });
});

describe('LineSplitter', () => {
  it('joins lines split across chunks, accepts \\n, \\r\\n and \\r, and hands over the last line at the end', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), 8);
    s.write('one\r\ntw');
    s.write('o\rthree\n\nfo');
    expect(lines).toEqual(['one', 'two', 'three']);
    s.write('0123456789abcdef');
    s.end();
    expect(lines).toEqual(['one', 'two', 'three', '89abcdef']); // a runaway line keeps only its end
  });
});

describe('FfmpegProcess', () => {
  it('keeps a redacted tail of the lines that explain a failure', async () => {
    const port = await freePort(); // nothing listens there: refused on loopback
    const p = FfmpegProcess.spawn(ffmpeg, ['-hide_banner', '-nostdin', '-i', `http://admin:hunter2@127.0.0.1:${port}/cam.mjpg`, '-f', 'null', '-'], { tailLines: 3 });
    const exit = await p.exited;
    expect(exit.code).not.toBe(0);
    expect(describeExit(exit)).toMatch(/^exit code \d+$/);
    const tail = p.tail();
    expect(tail.length).toBeGreaterThan(0);
    expect(tail.length).toBeLessThanOrEqual(3);
    expect(tail.join('\n')).toContain('http://***@127.0.0.1');
    expect(tail.join('\n')).not.toContain('hunter2');
  });

  it('reports a missing binary as a spawn error, not a crash', async () => {
    const exit = await FfmpegProcess.spawn('/nonexistent/ffmpeg', ['-version']).exited;
    expect(exit.spawnError?.code).toBe('ENOENT');
  });

  it('refuses arguments Node cannot pass as a SourceError', () => {
    expect(() => FfmpegProcess.spawn(ffmpeg, ['-i', 'a\0b'])).toThrow(SourceError);
  });

  it('streams rawvideo until killed; kill is SIGTERM and is a no-op afterwards', async () => {
    const args = ['-hide_banner', '-nostdin', '-f', 'lavfi', '-i', 'testsrc=size=8x6:rate=50', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
    const p = FfmpegProcess.spawn(ffmpeg, args);
    const cutter = new RawFrameCutter(8 * 6 * 3);
    let frames = 0;
    await new Promise<void>((resolve) => {
      p.stdout.on('data', (c: Buffer) => {
        frames += cutter.push(c).length;
        if (frames >= 5) resolve();
      });
    });
    expect(p.running).toBe(true);
    p.kill();
    const exit = await p.exited;
    expect(exit.signal === 'SIGTERM' || exit.code === 255).toBe(true); // ffmpeg may catch SIGTERM and exit 255
    expect(p.running).toBe(false);
    p.kill(); // no-op
  });
});
