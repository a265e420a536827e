import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';
import { addressClass } from './url-policy.js';

/**
 * Where the HTTP API listens. Without tokens anyone who reaches the port can add cameras and change
 * the vocabulary, so the default is loopback, and anything wider needs tokens or an explicit
 * `--insecure-no-auth`. With tokens the default is every interface.
 */
export function listenHost(host: string | undefined, hasTokens: boolean, insecureNoAuth: boolean): { host: string; warning?: string } {
  if (host === undefined) return { host: hasTokens ? '0.0.0.0' : '127.0.0.1' };
  const loopback = host === 'localhost' || (isIP(host) !== 0 && addressClass(host) === 'loopback');
  if (loopback || hasTokens) return { host };
  if (!insecureNoAuth) {
    throw new ConfigError(`refusing to listen on ${host} without API tokens: anyone who reaches it could add cameras and change the vocabulary. Set security.tokensFile (tokens from \`actionclip-stream token create\`), or pass --insecure-no-auth`);
  }
  return { host, warning: `listening on ${host} WITHOUT authentication (--insecure-no-auth): anyone who reaches this port can add cameras and change the vocabulary` };
}
