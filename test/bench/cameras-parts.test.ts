import { spawn } from 'node:child_process';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { MainThreadProfiler } from '../../bench/cameras/main-thread-profile.js';
import { renderPlot } from '../../bench/cameras/plot.js';
import { cpuBetween, cpuSnapshot } from '../../bench/cameras/proc-cpu.js';

// The camera benchmark's own measuring parts, on real processes; the benchmark itself is run by hand.
describe('bench:cameras parts', () => {
  it('books the CPU of ffmpeg children as decode, apart from excluded ones (the feeders)', async () => {
    const busy = (): ReturnType<typeof spawn> => spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-t', '20', '-f', 'null', '-']);
    const [decoder, feeder] = [busy(), busy()];
    const exclude = new Set([feeder.pid!]);
    const before = cpuSnapshot(exclude);
    expect(before.decoders.has(decoder.pid!)).toBe(true);
    expect(before.excluded.has(feeder.pid!)).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    const spent = cpuBetween(before, cpuSnapshot(exclude));
    decoder.kill();
    feeder.kill();
    expect(spent.decoders).toBeGreaterThan(0);
    expect(spent.excluded).toBeGreaterThan(0);
    expect(spent.nodeMain).toBeGreaterThanOrEqual(0);
  });

  it('the main-thread profile finds no inference where no engine runs, and names the busy function', async () => {
    const profiler = new MainThreadProfiler();
    await profiler.start();
    const spinUntil = Date.now() + 300;
    let x = 0;
    const busyLoop = (): void => {
      while (Date.now() < spinUntil) x += Math.sqrt(x + 1);
    };
    busyLoop();
    const split = await profiler.stop();
    expect(split.inferenceShare).toBe(0);
    expect(split.hottest.some((h) => h.fn.startsWith('busyLoop'))).toBe(true);
  });

  it('renders the plot as a PNG of two panels', async () => {
    const png = await renderPlot([{ name: '720p int8 after', points: [[1, 0.3], [2, 0.4], [4, 1.8]] }], [{ name: '720p int8 after', points: [[1, 0.3], [2, 0.5], [4, 1.1]] }], 1.5);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1120, 360]);
  });
});
