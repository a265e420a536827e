import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Instrumentation } from '../../src/instrumentation/instrumentation.js';
import { Metrics } from '../../src/observability/metrics.js';
import { observeMetrics } from '../../src/observability/metrics-observer.js';
import type { OutputEvent, Sink } from '../../src/sinks/events.js';
import { JsonlSink } from '../../src/sinks/jsonl.js';
import { repairTornLine } from '../../src/sinks/jsonl-file.js';

describe('JsonlSink', () => {
  it('appends one JSON object per line and counts them', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'jsonl-')), 'out.jsonl');
    const metrics = new Metrics({ defaultMetrics: false });
    const instrumentation = new Instrumentation();
    observeMetrics(instrumentation, metrics);
    const sink = new JsonlSink({ path: file, instrumentation });
    sink.publish({ kind: 'window', camera: 'a', labels: ['x'], score: 0.5, json: '{"type":"window","camera":"a"}' });
    sink.publish({ kind: 'camera', camera: 'a', labels: [], json: '{"type":"camera","camera":"a"}' });
    await sink.close();
    sink.publish({ kind: 'camera', camera: 'a', labels: [], json: '{"late":true}' }); // after close: ignored
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((l) => l.type)).toEqual(['window', 'camera']);
    expect(await metrics.text()).toContain('actionclip_sink_messages_total{sink="jsonl"} 2');
  });
});

const event = (i: number, pad = 0): OutputEvent => ({ kind: 'window', camera: 'a', labels: ['x'], score: 0.5, json: JSON.stringify({ type: 'window', camera: 'a', i, pad: 'p'.repeat(pad) }) });
const lineNumbers = (text: string): number[] => text.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { i: number }).i);

describe('JsonlSink after a crash and on rotation', () => {
  it('removes a torn last line on start (logged) and appends whole lines after it', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'jsonl-')), 'out.jsonl');
    // What kill -9 in the middle of a write leaves: two whole lines and half of a third.
    writeFileSync(file, `${event(1).json}\n${event(2).json}\n${event(3).json.slice(0, 17)}`);
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => logs.push(JSON.parse(s) as Record<string, unknown>) });
    const sink = new JsonlSink({ path: file, logger });
    sink.publish(event(4));
    await sink.close();
    expect(lineNumbers(readFileSync(file, 'utf8'))).toEqual([1, 2, 4]);
    expect(logs.find((l) => String(l.msg).includes('torn last line'))).toMatchObject({ removedBytes: 17 });
    // A file of one torn line and nothing else becomes empty; an intact file is left alone.
    writeFileSync(file, '{"half":');
    expect(repairTornLine(file)).toBe(8);
    expect(statSync(file).size).toBe(0);
    writeFileSync(file, `${event(1).json}\n`);
    expect(repairTornLine(file)).toBe(0);
  });

  it('rotates by size, keeping the newest files, every line whole and none lost', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'jsonl-'));
    const file = path.join(dir, 'out.jsonl');
    const sink = new JsonlSink({ path: file, rotation: { maxBytes: 1000, keep: 100 } });
    for (let i = 0; i < 60; i++) sink.publish(event(i, 40));
    await sink.close();
    const files = readdirSync(dir).sort();
    expect(files.length).toBeGreaterThan(3);
    const all = files.filter((f) => f !== 'out.jsonl').concat('out.jsonl').flatMap((f) => {
      const text = readFileSync(path.join(dir, f), 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1000);
      return lineNumbers(text);
    });
    expect(all).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('rotates by age and deletes rotated files beyond keep', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'jsonl-'));
    const file = path.join(dir, 'out.jsonl');
    let now = Date.parse('2026-01-01T00:00:00Z');
    writeFileSync(`${file}.bak`, 'not a rotated file');
    const sink = new JsonlSink({ path: file, rotation: { everySec: 60, keep: 2 }, now: () => now });
    for (let i = 0; i < 5; i++) {
      sink.publish(event(i));
      now += 61_000;
    }
    await sink.close();
    const rotated = readdirSync(dir).filter((f) => f !== 'out.jsonl').sort();
    expect(rotated).toEqual(['out.jsonl.2026-01-01T00-03-03.000Z', 'out.jsonl.2026-01-01T00-04-04.000Z', 'out.jsonl.bak']);
    expect(lineNumbers(readFileSync(file, 'utf8'))).toEqual([4]);
  });
});

/** A real full disk: a 64 KiB tmpfs where mounting is allowed (root), else /dev/full (ENOSPC from the kernel on every write). */
function smallFilesystem(): { dir: string; file: string; recoverable: boolean; dispose(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'jsonl-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    return { dir, file: path.join(dir, 'out.jsonl'), recoverable: true, dispose: () => execFileSync('umount', [dir]) };
  } catch {
    console.warn('[jsonl] cannot mount a tmpfs here: /dev/full stands in for the full disk (no recovery step)');
    return { dir, file: '/dev/full', recoverable: false, dispose: () => rmSync(dir, { recursive: true, force: true }) };
  }
}

describe('JsonlSink on a full disk', () => {
  it('counts and logs ENOSPC once, keeps whole lines only, and writes again once there is room', async () => {
    const fs = smallFilesystem();
    const metrics = new Metrics({ defaultMetrics: false });
    const instrumentation = new Instrumentation();
    observeMetrics(instrumentation, metrics);
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => logs.push(JSON.parse(s) as Record<string, unknown>) });
    const other: OutputEvent[] = [];
    try {
      // The clock only moves when the test says so: no reopening until there is room again.
      let now = 0;
      const sink = new JsonlSink({ path: fs.file, instrumentation, logger, now: () => now });
      const sinks: Sink[] = [sink, { publish: (e) => other.push(e), close: async () => undefined }];
      // ~1 KiB lines into 64 KiB: the disk fills part-way.
      for (let i = 0; i < 200; i++) {
        for (const s of sinks) s.publish(event(i, 1000));
        await new Promise((r) => setImmediate(r));
      }
      const deadline = Date.now() + 10_000;
      while (!/actionclip_sink_errors_total\{sink="jsonl",code="ENOSPC"\} [1-9]/.test(await metrics.text()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // While the disk is full, lines are dropped and counted; the other sink gets them all.
      for (let i = 200; i < 205; i++) for (const s of sinks) s.publish(event(i, 1000));
      const text = await metrics.text();
      expect(text).toMatch(/actionclip_sink_errors_total\{sink="jsonl",code="ENOSPC"\} [1-9]/);
      expect(text).toMatch(/actionclip_sink_dropped_total\{sink="jsonl",reason="write_error"\} ([5-9]|\d\d)/);
      expect(logs.filter((l) => String(l.msg).startsWith('jsonl sink: cannot write (ENOSPC)'))).toHaveLength(1);
      expect(other).toHaveLength(205);
      if (fs.recoverable) {
        // Whole lines only: the line cut by the full disk is gone.
        const written = readFileSync(fs.file, 'utf8');
        expect(written === '' || written.endsWith('\n')).toBe(true);
        const before = lineNumbers(written);
        expect(before).toEqual(before.map((_, i) => i));
        // Room again: a second later the sink reopens the file and goes on after its last whole line.
        writeFileSync(fs.file, '');
        now += 2000;
        sink.publish(event(1000));
        await sink.close();
        expect(lineNumbers(readFileSync(fs.file, 'utf8'))).toEqual([1000]);
        expect(logs.some((l) => l.msg === 'jsonl sink: writing again')).toBe(true);
      } else await sink.close();
    } finally {
      fs.dispose();
    }
  });
});
