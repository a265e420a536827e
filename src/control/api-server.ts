/**
 * The network surface of one process: the HTTP API and the WebSocket hub on one server, with the
 * configured tokens, origins, limits and audit log, listening where the bind policy allows.
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import type { Metrics } from '../observability/metrics.js';
import type { AccessPolicy } from '../security/access.js';
import { AuditLog } from '../security/audit.js';
import { listenHost } from '../security/bind-policy.js';
import { TokenStore } from '../security/tokens.js';
import type { OutputEvent } from '../sinks/events.js';
import { WebSocketHub } from '../sinks/websocket-hub.js';
import type { ControlPlane } from './control-plane.js';
import { createControlServer } from './control-server.js';
import { closeServer, createHttpApi, httpServerOptions, listen } from './http-api.js';

export interface ApiServerOptions {
  readonly config: Pick<Config, 'host' | 'port' | 'security' | 'websocket'>;
  readonly control: ControlPlane;
  readonly metrics: Metrics;
  /** What a new WebSocket subscriber is sent first (the cameras' states). */
  readonly greeting: () => readonly OutputEvent[];
  readonly instrumentation: Instrumentation;
  readonly logger: Logger;
}

export interface ApiServer {
  readonly server: Server;
  readonly hub: WebSocketHub;
  readonly port: number;
  /** Where a local client reaches it. */
  readonly url: string;
  close(): Promise<void>;
}

/** @throws ConfigError for an unreadable tokens file, or a public address without tokens. */
export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const { config, control, logger: log } = o;
  const sec = config.security;
  const tokens = TokenStore.load(sec.tokensFile);
  const bind = listenHost(config.host, tokens !== undefined, sec.insecureNoAuth);
  if (bind.warning !== undefined) log.warn(bind.warning);
  if (tokens === undefined && bind.warning === undefined) log.info('no API tokens configured: listening on loopback only (see `actionclip-stream token create`)');
  const access: AccessPolicy = { tokens, metricsRequireToken: sec.metricsRequireToken, allowedOrigins: sec.allowedOrigins };
  const audit = new AuditLog({ logger: log, file: sec.auditFile });
  const timeouts = { headersTimeoutMs: sec.limits.headersTimeoutMs, requestTimeoutMs: sec.limits.requestTimeoutMs };
  // HTTPS when security.tls is set; its files are re-read on SIGHUP.
  const transport = createControlServer({ tls: sec.tls, logger: log, serverOptions: httpServerOptions(timeouts) });
  const server = createHttpApi({ control, metrics: o.metrics, logger: log, access, audit, server: transport.server, ...timeouts });
  const onVocabulary = (u: Parameters<ControlPlane['updateVocabulary']>[0]) => control.updateVocabulary(u);
  const hub = new WebSocketHub({ server, ...config.websocket, access, audit, messagesPerMinute: sec.limits.messagesPerMinute, onVocabulary, greeting: o.greeting, instrumentation: o.instrumentation, logger: log });
  let port: number;
  try {
    port = await listen(server, config.port, bind.host);
  } catch (err) {
    await hub.close();
    transport.dispose();
    throw err;
  }
  log.info({ port, host: bind.host, scheme: transport.scheme, auth: tokens === undefined ? 'none' : `${tokens.size} tokens` }, 'HTTP API, /metrics and /ws listening');
  const host = bind.host === '0.0.0.0' ? '127.0.0.1' : bind.host.includes(':') ? `[${bind.host}]` : bind.host;
  const close = async (): Promise<void> => {
    transport.dispose();
    await hub.close();
    await closeServer(server);
  };
  return { server, hub, port, url: `${transport.scheme}://${host}:${port}`, close };
}
