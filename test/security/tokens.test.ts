import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { registerToken } from '../../src/cli/commands/token.js';
import { ConfigError } from '../../src/errors.js';
import { createToken, hasRole, TokenStore, TOKENS_ENV } from '../../src/security/tokens.js';

const line = (token: string, role: string, name: string) => `sha256:${createHash('sha256').update(token).digest('hex')} ${role} ${name}`;

describe('TokenStore', () => {
  it('finds who holds a token; unknown and empty tokens are nobody', () => {
    const store = TokenStore.parse(['# tokens', line('t-view', 'viewer', 'vic'), '', line('t-op', 'operator', 'olga'), line('t-admin', 'admin', 'ada')].join('\n'), 'tokens');
    expect(store.size).toBe(3);
    expect(store.authenticate('t-op')).toEqual({ name: 'olga', role: 'operator' });
    expect(store.authenticate('t-admin')).toEqual({ name: 'ada', role: 'admin' });
    expect(store.authenticate('t-opX')).toBeUndefined();
    expect(store.authenticate('')).toBeUndefined();
  });

  it('orders roles: admin may do what operators and viewers may, not the reverse', () => {
    expect(hasRole({ name: 'a', role: 'admin' }, 'operator')).toBe(true);
    expect(hasRole({ name: 'o', role: 'operator' }, 'viewer')).toBe(true);
    expect(hasRole({ name: 'o', role: 'operator' }, 'admin')).toBe(false);
    expect(hasRole({ name: 'v', role: 'viewer' }, 'operator')).toBe(false);
  });

  it('refuses a malformed line naming its number but never echoing it', () => {
    const bad = `${line('x', 'viewer', 'v')}\nsha256:abc viewer short`;
    expect(() => TokenStore.parse(bad, 'f.txt')).toThrow(ConfigError);
    expect(() => TokenStore.parse(bad, 'f.txt')).toThrow('f.txt: line 2 is not');
    expect(() => TokenStore.parse(bad, 'f.txt')).not.toThrow(/abc/);
    expect(() => TokenStore.parse(line('x', 'root', 'r'), 'f.txt')).toThrow(/role "root"; roles are viewer, operator, admin/);
  });

  it('reads the file, else the environment variable; neither means no authentication', () => {
    expect(TokenStore.load(undefined, {})).toBeUndefined();
    const env = { [TOKENS_ENV]: `${line('a', 'viewer', 'v')};${line('b', 'admin', 'x')}` };
    expect(TokenStore.load(undefined, env)?.authenticate('b')).toEqual({ name: 'x', role: 'admin' });
    expect(() => TokenStore.load('/nonexistent/tokens', env)).toThrow(/security.tokensFile: cannot read \/nonexistent\/tokens: ENOENT/);
  });
});

describe('token create', () => {
  it('prints a fresh token once and appends only its hash, in a file only its owner can read', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'acs-tokens-')), 'tokens');
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      for (const [role, name] of [['operator', 'olga'], ['viewer', 'vic']]) {
        const program = new Command().exitOverride();
        registerToken(program);
        await program.parseAsync(['node', 'cli', 'token', 'create', '--role', role, '--name', name, '--file', file]);
      }
    } finally {
      write.mockRestore();
      err.mockRestore();
    }
    const [olga, vic] = out.map((s) => s.trim());
    expect(olga).toMatch(/^acs_[A-Za-z0-9_-]{43}$/);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(olga);
    expect(text.trim().split('\n')).toHaveLength(2);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const store = TokenStore.load(file)!;
    expect(store.authenticate(olga)).toEqual({ name: 'olga', role: 'operator' });
    expect(store.authenticate(vic)).toEqual({ name: 'vic', role: 'viewer' });
    rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('refuses an unknown role and an odd name', () => {
    expect(() => createToken('admin', 'bad name')).toThrow(/token name "bad name"/);
    const program = new Command().exitOverride();
    registerToken(program);
    return expect(program.parseAsync(['node', 'cli', 'token', 'create', '--role', 'root', '--name', 'x', '--file', '/tmp/unused'])).rejects.toThrow(/--role must be one of viewer, operator, admin/);
  });
});
