import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { redactText } from '../sources/redact.js';

export type { Logger } from 'pino';

/** Deep copy of a log object with every string redacted: a camera URL can hide in any field. */
function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { type: value.name, message: redactText(value.message), stack: value.stack === undefined ? undefined : redactText(value.stack) };
  if (ArrayBuffer.isView(value)) return `<${value.constructor.name} ${value.byteLength} bytes>`;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, depth + 1);
  return out;
}

export interface LoggerConfig {
  level?: LoggerOptions['level'];
  name?: string;
  /** Where lines go; default stderr, so stdout stays free for `--jsonl -`. */
  destination?: DestinationStream;
}

/**
 * Structured JSON logs (pino) on stderr. Every string that reaches the log, message or field, has
 * its URLs redacted, so a camera's `rtsp://user:pass@host` can never be written out.
 */
export function createLogger(cfg: LoggerConfig = {}): Logger {
  const options: LoggerOptions = {
    name: cfg.name ?? 'actionclip-stream',
    level: cfg.level ?? 'info',
    formatters: { log: (obj) => redactDeep(obj) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as Parameters<typeof method>);
      },
    },
    serializers: { err: (e: unknown) => redactDeep(e), error: (e: unknown) => redactDeep(e) },
  };
  return pino(options, cfg.destination ?? pino.destination(2));
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
