import type { Logger } from 'pino';

/**
 * Resources of a running service, released in the reverse order they were acquired (as a `using`
 * stack would): a resource started later may depend on one started earlier, never the reverse.
 * One failing release is logged and does not keep the others from being released.
 */
export class ResourceStack {
  private readonly releases: Array<() => unknown> = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger?: Logger) {}

  /** Registers how to release something just acquired; returns the thing, for chaining. */
  defer<T>(value: T, release: (value: T) => unknown): T {
    this.releases.push(() => release(value));
    return value;
  }

  /** Releases everything once; later calls return the same promise. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const release of this.releases.reverse()) {
        try {
          await release();
        } catch (err) {
          this.logger?.warn({ err }, 'error while stopping');
        }
      }
    })();
    return this.closing;
  }
}
