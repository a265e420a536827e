import cliProgress from 'cli-progress';
import type { DownloadProgress } from './download.js';

export interface CliProgressOptions {
  /** Where to draw; default stderr, so stdout stays machine-readable. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** `bar` redraws one line (a terminal); `lines` prints a plain line per 10% (logs, pipes). Default: by `stream.isTTY`. */
  mode?: 'bar' | 'lines';
}

// Decimal megabytes, as the hub and `models list` show sizes.
const mb = (n: number): string => (n / 1e6).toFixed(1);

/** Speed counts only this session's bytes (not a resumed part), so the ETA stays honest. */
function rate(p: DownloadProgress, startedAt: number): { speed: string; eta: string } {
  const seconds = (Date.now() - startedAt) / 1000;
  const bytesPerS = seconds > 0 ? (p.received - p.resumedFrom) / seconds : 0;
  if (bytesPerS <= 0 || p.total === null) return { speed: bytesPerS > 0 ? `${mb(bytesPerS)} MB/s` : '-', eta: '?' };
  return { speed: `${mb(bytesPerS)} MB/s`, eta: formatSeconds((p.total - p.received) / bytesPerS) };
}

export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  return t >= 3600 ? `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m` : t >= 60 ? `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s` : `${t}s`;
}

/**
 * Progress for downloadWeights: a bar with size, speed and ETA on a terminal, a plain line per
 * 10% elsewhere (so logs get a few lines, not thousands of redraws). Call `stop()` when the
 * download settles, whether it succeeded or not.
 */
export function cliDownloadProgress(label = 'downloading', opts: CliProgressOptions = {}): { onProgress: (p: DownloadProgress) => void; stop: () => void } {
  const stream = opts.stream ?? process.stderr;
  const mode = opts.mode ?? (stream.isTTY === true ? 'bar' : 'lines');
  return mode === 'bar' ? barProgress(label, stream) : lineProgress(label, stream);
}

function lineProgress(label: string, stream: NodeJS.WritableStream): { onProgress: (p: DownloadProgress) => void; stop: () => void } {
  let startedAt = 0;
  let lastTenth = -1;
  return {
    onProgress: (p) => {
      if (startedAt === 0) startedAt = Date.now();
      if (p.total === null || p.total === 0) return;
      const tenth = Math.floor((p.received / p.total) * 10);
      if (tenth <= lastTenth) return;
      lastTenth = tenth;
      const { speed, eta } = rate(p, startedAt);
      const resumed = p.resumedFrom > 0 && p.received === p.resumedFrom ? ` (resuming at ${mb(p.resumedFrom)} MB)` : '';
      stream.write(`${label}: ${tenth * 10}% ${mb(p.received)}/${mb(p.total)} MB, ${speed}, ETA ${eta}${resumed}\n`);
    },
    stop: () => undefined,
  };
}

function barProgress(label: string, stream: NodeJS.WritableStream): { onProgress: (p: DownloadProgress) => void; stop: () => void } {
  type Payload = { received: string; total: string; speed: string; eta: string };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      // Bar mode was chosen (by the caller, or because the stream is a terminal): draw it.
      noTTYOutput: true,
      format: (options, params, payload: Payload) =>
        params.total > 0
          ? `${label} [${cliProgress.Format.BarFormat(params.progress, options)}] ${Math.floor(params.progress * 100)}% ${payload.received}/${payload.total} MB ${payload.speed} ETA ${payload.eta}`
          : `${label} ${payload.received} MB ${payload.speed}`,
      hideCursor: null,
    },
    cliProgress.Presets.shades_classic,
  );
  let startedAt = 0;
  const payload = (p: DownloadProgress): Payload => ({ received: mb(p.received), total: p.total === null ? '?' : mb(p.total), ...rate(p, startedAt) });
  return {
    onProgress: (p) => {
      if (startedAt === 0) {
        startedAt = Date.now();
        bar.start(p.total ?? 0, p.received, payload(p));
      } else bar.update(p.received, payload(p));
    },
    stop: () => {
      if (startedAt !== 0) bar.stop();
    },
  };
}
