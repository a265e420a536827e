/**
 * API tokens: who may do what. A token is a random secret the operator hands to a client; the
 * service keeps only its SHA-256 (`sha256:<hex> <role> <name>` per line, in a file or an
 * environment variable), so a leaked tokens file grants nothing. Lookups hash the presented token
 * and compare it with every entry in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/** In order of power: each role may do what the ones before it may. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who made a request, as the audit log and the role checks see it. */
export interface Principal {
  readonly name: string;
  readonly role: Role;
}

/** Where tokens are read from when no file is set: the same line format, lines or `;` separated. */
export const TOKENS_ENV = 'ACTIONCLIP_TOKENS';

interface Entry extends Principal {
  readonly hash: Buffer;
}

const LINE = /^sha256:([0-9a-f]{64})\s+(\S+)\s+(\S+)$/;

export function hasRole(principal: Principal, needed: Role): boolean {
  return ROLES.indexOf(principal.role) >= ROLES.indexOf(needed);
}

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

const sha256 = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export class TokenStore {
  private constructor(private readonly entries: readonly Entry[]) {}

  /** Parses token lines (`#` comments and blank lines ignored). @throws ConfigError naming the line. */
  static parse(text: string, source: string): TokenStore {
    const entries: Entry[] = [];
    text.split(/\r?\n|;/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const m = LINE.exec(line);
      // The line is never echoed: it holds a hash an attacker could use to check guesses offline.
      if (m === null) throw new ConfigError(`${source}: line ${i + 1} is not "sha256:<64 hex> <role> <name>"`);
      if (!isRole(m[2])) throw new ConfigError(`${source}: line ${i + 1} has role "${m[2]}"; roles are ${ROLES.join(', ')}`);
      entries.push({ hash: Buffer.from(m[1], 'hex'), role: m[2], name: m[3] });
    });
    return new TokenStore(entries);
  }

  /** The tokens file, else the environment variable; `undefined` when neither is set (no authentication). */
  static load(file: string | undefined, env: NodeJS.ProcessEnv = process.env): TokenStore | undefined {
    if (file !== undefined) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new ConfigError(`security.tokensFile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
      }
      return TokenStore.parse(text, file);
    }
    const fromEnv = env[TOKENS_ENV];
    return fromEnv === undefined || fromEnv.trim() === '' ? undefined : TokenStore.parse(fromEnv, TOKENS_ENV);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Who holds this token; every entry is compared, so the time taken says nothing about which matched. */
  authenticate(token: string): Principal | undefined {
    const presented = sha256(token);
    let found: Entry | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.hash, presented) && found === undefined) found = e;
    return found === undefined ? undefined : { name: found.name, role: found.role };
  }
}

/** A new random token (shown once) and the line that grants it `role` under `name`. */
export function createToken(role: Role, name: string): { token: string; line: string } {
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name)) throw new ConfigError(`token name "${name}" may contain letters, digits, "_", ".", "@" and "-" (at most 64)`);
  const token = `acs_${randomBytes(32).toString('base64url')}`;
  return { token, line: `sha256:${sha256(token).toString('hex')} ${role} ${name}` };
}
