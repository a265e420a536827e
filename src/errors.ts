/**
 * Typed errors. Each carries what a user needs to fix the input; `retriable` tells supervisors
 * whether trying again can help.
 */
export class ActionClipError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value (file, flag, HTTP body, message) failed validation. */
export class ConfigError extends ActionClipError {}

/** A weights file is missing, truncated, malformed, or does not match the model. */
export class WeightsError extends ActionClipError {
  constructor(
    message: string,
    readonly file: string,
    readonly key?: string,
    options?: { cause?: unknown },
  ) {
    super(`${message} (file: ${file}${key === undefined ? '' : `, key: ${key}`})`, options);
  }
}

/** A frame source failed; `retriable` says whether reconnecting may help. */
export class SourceError extends ActionClipError {
  constructor(
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
