/**
 * The audit trail: every control action, accepted or refused, as one JSON line (who by token name,
 * what, when, from which address) in the log and, when configured, in its own file. Tokens and
 * camera credentials never reach it: callers pass redacted targets.
 */
import { appendFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Principal } from './tokens.js';

/** One control action as the caller reports it; the record written names the actor from `principal`. */
export interface AuditRecord {
  /** Who by token; undefined without a valid token (written as actor `anonymous`). */
  readonly principal?: Principal;
  /** e.g. `camera.add`, `camera.remove`, `vocabulary.update`. */
  readonly action: string;
  /** What it was done to (a camera id and its redacted URL, a vocabulary size). */
  readonly target?: string;
  readonly outcome: 'accepted' | 'refused';
  /** Why it was refused. */
  readonly reason?: string;
  readonly address?: string;
  /** `http` or `websocket` or `kafka`. */
  readonly via: string;
}

export class AuditLog {
  constructor(
    private readonly opts: { readonly logger?: Logger; readonly file?: string; readonly now?: () => number } = {},
  ) {}

  record({ principal, ...r }: AuditRecord): void {
    const actor = principal?.name ?? 'anonymous';
    const entry = { time: new Date((this.opts.now ?? Date.now)()).toISOString(), actor, role: principal?.role, ...r };
    this.opts.logger?.info({ audit: entry }, `audit: ${actor} ${r.action} ${r.outcome}`);
    if (this.opts.file === undefined) return;
    try {
      // Synchronous and small: a line is never torn by a crash between two writes of it.
      appendFileSync(this.opts.file, JSON.stringify(entry) + '\n', { mode: 0o600 });
    } catch (err) {
      this.opts.logger?.error({ err, file: this.opts.file }, 'cannot write the audit file');
    }
  }
}
