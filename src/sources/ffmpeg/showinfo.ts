import { LineSplitter } from './lines.js';

/** What one line of ffmpeg's stderr (with `-loglevel level+…`) says about frame times. */
export type StderrLine =
  | { kind: 'frame'; n: number; pts: number | undefined }
  | { kind: 'timebase'; num: number; den: number }
  | { kind: 'showinfo' }
  | { kind: 'log'; level: string; text: string };

const SHOWINFO = /^\[Parsed_showinfo_\d+ @ [^\]]*\]\s*(?:\[[a-z]+\]\s*)?(.*)$/;
const SHOWINFO_FRAME = /^n:\s*(\d+)\s+pts:\s*(-?\d+|NOPTS)\b/;
const SHOWINFO_TIMEBASE = /^config in time_base:\s*(\d+)\/(\d+)/;
const LEVEL = /^(?:\[[^\]]* @ [^\]]*\]\s*)?\[(quiet|panic|fatal|error|warning|info|verbose|debug|trace)\]\s?(.*)$/;
const LEVEL_TAG = /\[(?:quiet|panic|fatal|error|warning|info|verbose|debug|trace)\]\s?/;
const FAILURE_LEVELS = new Set(['error', 'fatal', 'panic']);

export function parseStderrLine(line: string): StderrLine {
  const si = SHOWINFO.exec(line);
  if (si !== null) {
    const body = si[1];
    const f = SHOWINFO_FRAME.exec(body);
    if (f !== null) return { kind: 'frame', n: Number(f[1]), pts: f[2] === 'NOPTS' ? undefined : Number(f[2]) };
    const tb = SHOWINFO_TIMEBASE.exec(body);
    if (tb !== null && Number(tb[1]) > 0 && Number(tb[2]) > 0) return { kind: 'timebase', num: Number(tb[1]), den: Number(tb[2]) };
    return { kind: 'showinfo' };
  }
  const lv = LEVEL.exec(line);
  // An untagged line is treated as an error: ffmpeg prints its fatal input errors that way.
  return lv === null ? { kind: 'log', level: 'error', text: line } : { kind: 'log', level: lv[1], text: line.replace(LEVEL_TAG, '') };
}

/** Whether a stderr line explains a failure (error level or worse); showinfo and info lines never do. */
export function isFailureLine(line: string): boolean {
  const p = parseStderrLine(line);
  return p.kind === 'log' && FAILURE_LEVELS.has(p.level);
}

/**
 * Reads one ffmpeg process's stderr: remembers the pts (in ms) of frames that showinfo reported
 * and hands every other line to `onLog`. stderr and stdout are separate pipes, so a frame can be
 * read before its line (or, rarely, a line can be missing): lookups are by frame number, and
 * only a few pending entries are kept.
 */
export class ShowinfoReader {
  private readonly lines = new LineSplitter((l) => this.line(l));
  private readonly pts = new Map<number, number>();
  private num: number;
  private den: number;
  /** Highest frame number reported so far (-1: none). */
  latest = -1;

  constructor(
    fps: number,
    private readonly onLog: (level: string, text: string) => void = () => undefined,
    private readonly maxPending = 64,
  ) {
    // fps's output time base is 1/fps; showinfo's "config in time_base" line confirms or corrects it.
    this.num = 1;
    this.den = fps;
  }

  /** A chunk of stderr text (lines may be split across chunks). */
  write(chunk: string): void {
    this.lines.write(chunk);
  }

  /** One whole stderr line. */
  line(line: string): void {
    const p = parseStderrLine(line);
    if (p.kind === 'timebase') {
      this.num = p.num;
      this.den = p.den;
    } else if (p.kind === 'frame') {
      this.latest = Math.max(this.latest, p.n);
      if (p.pts !== undefined) this.pts.set(p.n, (p.pts * this.num * 1000) / this.den);
      if (this.pts.size > this.maxPending) this.pts.delete(this.pts.keys().next().value as number);
    } else if (p.kind === 'log') this.onLog(p.level, p.text);
  }

  /**
   * The pts in ms of output frame `n` and forgets older frames; `undefined` when not known yet
   * (see `latest` to tell "not yet" from "never").
   */
  take(n: number): number | undefined {
    for (const k of this.pts.keys()) {
      if (k >= n) break;
      this.pts.delete(k);
    }
    const v = this.pts.get(n);
    this.pts.delete(n);
    return v;
  }
}
