import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { PinoPretty } from 'pino-pretty';
import { ConfigError } from '../errors.js';
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

/** `pretty`: coloured lines for a person at a terminal; `json`: one object a line, for machines. */
export type LogFormat = 'json' | 'pretty';

/** Pretty on a terminal, JSON otherwise (files, pipes, log shippers); ACTIONCLIP_LOG_FORMAT overrides. */
export function chooseLogFormat(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): LogFormat {
  const forced = env.ACTIONCLIP_LOG_FORMAT;
  if (forced === undefined || forced === '') return stream.isTTY === true ? 'pretty' : 'json';
  if (forced === 'json' || forced === 'pretty') return forced;
  throw new ConfigError(`ACTIONCLIP_LOG_FORMAT must be json or pretty, got "${forced}"`);
}

export interface LoggerConfig {
  level?: LoggerOptions['level'];
  name?: string;
  /** Where lines go; default stderr, so stdout stays free for `--jsonl -`. */
  destination?: DestinationStream;
  /** Default: chooseLogFormat(process.stderr). */
  format?: LogFormat;
}

/**
 * Structured logs (pino) on stderr: JSON, or pretty-printed (pino-pretty) on a terminal. Every
 * string that reaches the log, message or field, has its URLs redacted before either format sees
 * it, so a camera's `rtsp://user:pass@host` can never be written out.
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
  const format = cfg.format ?? chooseLogFormat(process.stderr);
  const destination = cfg.destination ?? pino.destination(2);
  if (format === 'json') return pino(options, destination);
  // Synchronous, like pino.destination(2): a line logged just before exit is not lost.
  return pino(options, PinoPretty({ destination, sync: true, colorize: cfg.destination === undefined && process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }));
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
