/**
 * One error hierarchy for the whole service, modelled on kafkajs's `KafkaJSError`: every error says
 * whether trying again can help (`retriable`) and what kind of fault it is, so supervisors retry
 * only what is retriable and the HTTP layer picks its status from the type, never from a message.
 * Each message carries what a user needs to fix the input.
 */
import type { z } from 'zod';

export type ErrorKind = 'invalid-input' | 'unauthorized' | 'forbidden' | 'rate-limited' | 'conflict' | 'not-found' | 'not-ready' | 'weights' | 'source' | 'malformed' | 'engine' | 'internal';

export interface ErrorOptions {
  readonly cause?: unknown;
  /** Whether the same operation may succeed later without anything being fixed. Default false. */
  readonly retriable?: boolean;
}

export class ActionClipError extends Error {
  readonly retriable: boolean;
  readonly kind: ErrorKind = 'internal';

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** A configuration value (file, flag, HTTP body, message) failed validation. */
export class ConfigError extends ActionClipError {
  override readonly kind: ErrorKind = 'invalid-input';
}

/** The request is valid but clashes with the current state (an id that is taken). */
export class ConflictError extends ConfigError {
  override readonly kind: ErrorKind = 'conflict';
}

/** The request names something that does not exist. */
export class NotFoundError extends ConfigError {
  override readonly kind: ErrorKind = 'not-found';
}

/** The service cannot do this yet (the model is still loading): try again later. */
/** No valid credentials came with a request (HTTP 401). The message never echoes the token. */
export class UnauthorizedError extends ActionClipError {
  override readonly kind: ErrorKind = 'unauthorized';
}

/** Valid credentials whose role may not do this (HTTP 403). */
export class ForbiddenError extends ActionClipError {
  override readonly kind: ErrorKind = 'forbidden';
}

/** A client sent more than its share (HTTP 429); trying later helps. */
export class RateLimitedError extends ActionClipError {
  override readonly kind: ErrorKind = 'rate-limited';
  constructor(message: string) {
    super(message, { retriable: true });
  }
}

export class NotReadyError extends ActionClipError {
  override readonly kind: ErrorKind = 'not-ready';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable: true });
  }
}

/** A weights file is missing, truncated, malformed, or does not match the model. */
export class WeightsError extends ActionClipError {
  override readonly kind: ErrorKind = 'weights';
  constructor(
    message: string,
    readonly file: string,
    readonly key?: string,
    options?: ErrorOptions,
  ) {
    // Retriable only for transient faults (a download cut or a 5xx); a bad file stays bad.
    super(`${message} (file: ${file}${key === undefined ? '' : `, key: ${key}`})`, options);
  }
}

/** A frame source failed; `retriable` says whether reconnecting may help. */
export class SourceError extends ActionClipError {
  override readonly kind: ErrorKind = 'source';
  constructor(message: string, retriable: boolean, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable });
  }
}

/** One input record (a Kafka frame, a pickle stream, a message) cannot be decoded; `reason` is a short metric label. */
export class MalformedInputError extends ActionClipError {
  override readonly kind: ErrorKind = 'malformed';
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An engine call failed. Retriable when the call itself threw (a runtime fault: out of memory, a
 * lost device); fatal when the engine answered with the wrong shape (a bug or a mismatched model).
 */
export class EngineError extends ActionClipError {
  override readonly kind: ErrorKind = 'engine';
  constructor(message: string, retriable: boolean, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable });
  }
}

export interface Classification {
  readonly retriable: boolean;
  readonly kind: ErrorKind;
  /** The HTTP status an API answers with for this error. */
  readonly status: number;
}

const STATUS: Record<ErrorKind, number> = {
  'invalid-input': 400,
  unauthorized: 401,
  forbidden: 403,
  'rate-limited': 429,
  malformed: 400,
  conflict: 409,
  'not-found': 404,
  'not-ready': 503,
  weights: 500,
  source: 502,
  engine: 500,
  internal: 500,
};

/**
 * What an error means for whoever caught it. Errors outside the hierarchy (a TypeError, a library's
 * own error) are fatal: restarting cannot fix a bug, and retrying it forever hides it.
 */
export function classify(err: unknown): Classification {
  if (err instanceof ActionClipError) return { retriable: err.retriable, kind: err.kind, status: STATUS[err.kind] };
  return { retriable: false, kind: 'internal', status: 500 };
}

export function isRetriable(err: unknown): boolean {
  return classify(err).retriable;
}

export interface IssueFormat {
  /** Put before every path (e.g. the key a nested value came from). */
  readonly prefix?: string;
  /** Name for an issue about the whole value. Default `<root>`. */
  readonly root?: string;
  /** `a[2].c` (config files) or `a.2.c` (JSON bodies and messages). Default brackets. */
  readonly indices?: 'brackets' | 'dots';
}

/** Zod issues as `{field, message}`: the one place zod paths are spelled for users. */
export function issueList(error: z.ZodError, format: IssueFormat = {}): Array<{ field: string; message: string }> {
  const { prefix = '', root = '<root>', indices = 'brackets' } = format;
  return error.issues.map((i) => {
    const key = i.path.reduce<string>((acc, p) => (typeof p === 'number' && indices === 'brackets' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), prefix);
    return { field: key || root, message: i.message };
  });
}

/** `field: message; field: message`, so the user sees which key to fix. */
export function formatIssues(error: z.ZodError, format: IssueFormat = {}): string {
  return issueList(error, format)
    .map((i) => `${i.field}: ${i.message}`)
    .join('; ');
}
