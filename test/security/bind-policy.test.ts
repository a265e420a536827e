import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { listenHost } from '../../src/security/bind-policy.js';

describe('listenHost', () => {
  it('defaults to loopback without tokens and to every interface with them', () => {
    expect(listenHost(undefined, false, false)).toEqual({ host: '127.0.0.1' });
    expect(listenHost(undefined, true, false)).toEqual({ host: '0.0.0.0' });
  });

  it('refuses a public address without tokens unless --insecure-no-auth, which warns', () => {
    expect(() => listenHost('0.0.0.0', false, false)).toThrow(ConfigError);
    expect(() => listenHost('192.168.1.2', false, false)).toThrow(/security.tokensFile.*--insecure-no-auth/);
    expect(listenHost('0.0.0.0', false, true).warning).toMatch(/WITHOUT authentication/);
    expect(listenHost('0.0.0.0', true, false)).toEqual({ host: '0.0.0.0' });
  });

  it('any loopback address is fine without tokens', () => {
    for (const h of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) expect(listenHost(h, false, false)).toEqual({ host: h });
  });
});
