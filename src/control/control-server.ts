import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { TlsConfig } from '../../config/schema.js';
import { ConfigError } from '../errors.js';

export interface ControlServerOptions {
  /** `security.tls`: serve HTTPS/WSS with these files; absent: plain HTTP/WS. */
  readonly tls?: TlsConfig;
  /** Re-read the certificate and key on SIGHUP (default true with TLS). */
  readonly reloadOnSighup?: boolean;
  /** node:http / node:https server options (header and request timeouts, their checking interval). */
  readonly serverOptions?: ServerOptions;
  readonly logger?: Logger;
}

/**
 * The server the control API and the WebSocket hub attach to: node:http, or node:https when
 * `security.tls` is set. One place decides the transport, so routes and upgrades stay the same.
 */
export interface ControlServer {
  readonly server: Server;
  readonly scheme: 'http' | 'https';
  /**
   * Re-reads the certificate and key files for new connections. A file that is missing or does not
   * load is logged and the certificate in use is kept: a botched rotation must not take TLS down.
   */
  reloadTls(): boolean;
  /** Removes the SIGHUP hook; closing the server stays with its owner. */
  dispose(): void;
}

interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

const SETTINGS = { cert: 'security.tls.cert', key: 'security.tls.key' } as const;

/** Two small files, read at start and on SIGHUP: a synchronous read is the simplest and costs nothing. */
function readPair(tls: TlsConfig): KeyPair {
  const read = (which: 'cert' | 'key'): Buffer => {
    try {
      return readFileSync(tls[which]);
    } catch (err) {
      throw new ConfigError(`${SETTINGS[which]}: cannot read ${tls[which]}: ${(err as Error).message}`, { cause: err });
    }
  };
  return { cert: read('cert'), key: read('key') };
}

/** Loads the pair into OpenSSL once, so a bad PEM or a key that does not match fails here, by name. */
function checkPair(tls: TlsConfig, pair: KeyPair): KeyPair {
  try {
    createSecureContext(pair);
  } catch (err) {
    const why = (err as Error).message;
    throw new ConfigError(`${SETTINGS.cert} (${tls.cert}) and ${SETTINGS.key} (${tls.key}) do not load as a certificate and its key: ${why}`, { cause: err });
  }
  return pair;
}

export function createControlServer(opts: ControlServerOptions = {}): ControlServer {
  const { tls, logger } = opts;
  if (tls === undefined) {
    return { server: createHttpServer(opts.serverOptions ?? {}), scheme: 'http', reloadTls: () => false, dispose: () => undefined };
  }
  const server: HttpsServer = createHttpsServer({ ...opts.serverOptions, ...checkPair(tls, readPair(tls)) });
  // Port scanners and plain-HTTP clients fail the handshake all day: not worth more than debug.
  server.on('tlsClientError', (err, socket) => logger?.debug({ err, remote: socket.remoteAddress }, 'TLS handshake failed'));

  const reloadTls = (): boolean => {
    try {
      server.setSecureContext(checkPair(tls, readPair(tls)));
      logger?.info({ cert: tls.cert }, 'TLS certificate reloaded');
      return true;
    } catch (err) {
      logger?.error({ err }, 'TLS reload failed: keeping the certificate in use');
      return false;
    }
  };
  const onHangup = (): void => void reloadTls();
  const hook = opts.reloadOnSighup ?? true;
  if (hook) process.on('SIGHUP', onHangup);
  const dispose = (): void => {
    if (hook) process.off('SIGHUP', onHangup);
  };
  return { server, scheme: 'https', reloadTls, dispose };
}
