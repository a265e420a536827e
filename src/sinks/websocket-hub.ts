import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { ConfigError } from '../errors.js';
import { requireRole, type AccessPolicy } from '../security/access.js';
import type { AuditLog } from '../security/audit.js';
import { RateLimiter } from '../security/rate-limit.js';
import type { Principal } from '../security/tokens.js';
import { checkUpgrade, chooseSubprotocol, refuseUpgrade } from '../security/websocket-gate.js';
import type { VocabularyUpdate } from '../../config/schema.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { OUTPUT_KINDS, type OutputEvent, type OutputKind, type Sink } from './events.js';
import { parseClientMessage } from './websocket-messages.js';

export { ClientMessageSchema, SubscribeMessageSchema, VocabularyMessageSchema, type SubscribeMessage } from './websocket-messages.js';

/** Close codes sent to clients. */
export const CLOSE_TOO_SLOW = 1013; // "try again later": the client could not keep up
export const CLOSE_GOING_AWAY = 1001;

export interface WebSocketHubOptions {
  readonly server: Server;
  /** Upgrade path. Default `/ws`. */
  readonly path?: string;
  /** Messages queued per client beyond the socket's own buffer before it is closed as too slow. */
  readonly maxQueue?: number;
  /** Unsent bytes the socket may hold before messages queue instead. */
  readonly maxBufferedBytes?: number;
  /** Ping interval; a client that has not answered the previous ping is terminated. */
  readonly heartbeatMs?: number;
  /** Applies a vocabulary control message; resolves with the new version. */
  readonly onVocabulary?: (update: VocabularyUpdate) => Promise<number>;
  /**
   * The current picture (e.g. each camera's state), sent right after every subscribe through that
   * subscription's filter, so a client starts with the states it asked for and only those. A client
   * that has not subscribed within `greetingDelayMs` of connecting gets it unfiltered.
   */
  readonly greeting?: () => readonly OutputEvent[];
  /** Default 1000. Long enough for a client that subscribes on open, short for one that never does. */
  readonly greetingDelayMs?: number;
  /** Tokens and origins, checked before an upgrade completes; `vocabulary` messages need an operator. */
  readonly access?: AccessPolicy;
  readonly audit?: AuditLog;
  /** Messages a client may send per minute (bursts of a sixth of it). Default 120. */
  readonly messagesPerMinute?: number;
  /** Largest message a client may send. Default 1 MiB (a full vocabulary: 1000 labels of 200 characters). */
  readonly maxPayloadBytes?: number;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
}

interface Filter {
  cameras?: Set<string>;
  labels?: Set<string>;
  minScore?: number;
  kinds?: Set<OutputKind>;
}

interface Client {
  readonly ws: WebSocket;
  readonly id: number;
  filter: Filter;
  /** Our own queue behind the socket's buffer; bounded by maxQueue. */
  queue: string[];
  alive: boolean;
  closing: boolean;
  /** Messages are handled one at a time so replies come in request order. */
  inbox: Promise<void>;
  subscribed: boolean;
  /** Pending unfiltered greeting for a client that has not subscribed (yet). */
  greetTimer?: NodeJS.Timeout;
  readonly principal?: Principal;
  readonly address?: string;
  readonly limiter: RateLimiter;
}

/**
 * Fan-out of pipeline outputs to WebSocket subscribers on `/ws`.
 *
 * `publish` is synchronous and O(clients): a subscriber that cannot keep up first fills the socket
 * buffer (`bufferedAmount` up to maxBufferedBytes), then its own queue (maxQueue messages), and is
 * then closed with 1013 and a reason. It never slows the pipeline or the other clients.
 */
export class WebSocketHub implements Sink {
  private readonly wss: WebSocketServer;
  private readonly clientsById = new Map<number, Client>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly path: string;
  private readonly maxQueue: number;
  private readonly maxBuffered: number;
  private readonly messagesPerMinute: number;
  private nextId = 1;
  private closed = false;
  /** Clients closed for being slow (for tests and logs). */
  slowClosed = 0;

  constructor(private readonly opts: WebSocketHubOptions) {
    this.path = opts.path ?? '/ws';
    this.maxQueue = opts.maxQueue ?? 256;
    this.maxBuffered = opts.maxBufferedBytes ?? 1 << 20;
    this.messagesPerMinute = opts.messagesPerMinute ?? 120;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayloadBytes ?? 1 << 20, handleProtocols: chooseSubprotocol });
    opts.server.on('upgrade', this.onUpgrade);
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  get clients(): number {
    return this.clientsById.size;
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== this.path || this.closed) {
      // Only refuse when nobody else on this server handles upgrades.
      if (this.opts.server.listenerCount('upgrade') <= 1) socket.destroy();
      return;
    }
    const verdict = checkUpgrade(req, this.opts.access ?? {});
    if (!verdict.ok) {
      this.opts.logger?.info({ remote: req.socket.remoteAddress, status: verdict.status, reason: verdict.reason }, 'websocket upgrade refused');
      refuseUpgrade(socket, verdict.status, verdict.reason);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req, verdict.principal));
  };

  private onConnection(ws: WebSocket, req: IncomingMessage, principal: Principal | undefined): void {
    const limiter = new RateLimiter(this.messagesPerMinute);
    const client: Client = { ws, id: this.nextId++, filter: {}, queue: [], alive: true, closing: false, inbox: Promise.resolve(), subscribed: false, principal, address: req.socket.remoteAddress, limiter };
    this.clientsById.set(client.id, client);
    this.opts.instrumentation?.emit('websocket.clients', { count: this.clientsById.size });
    this.opts.logger?.debug({ client: client.id, remote: req.socket.remoteAddress }, 'websocket client connected');
    ws.on('pong', () => (client.alive = true));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      client.inbox = client.inbox.then(() => this.onMessage(client, data, isBinary)).catch(() => undefined);
    });
    ws.on('close', () => {
      clearTimeout(client.greetTimer);
      this.clientsById.delete(client.id);
      this.opts.instrumentation?.emit('websocket.clients', { count: this.clientsById.size });
    });
    ws.on('error', (err) => this.opts.logger?.debug({ client: client.id, err }, 'websocket client error'));
    // Not at once: the client's subscribe (sent on open) cannot have arrived yet, and a client that
    // asked for `kinds: ["window"]` must not be handed camera states it never wanted.
    if (this.opts.greeting !== undefined) {
      client.greetTimer = setTimeout(() => {
        client.greetTimer = undefined;
        if (!client.subscribed) this.greet(client);
      }, this.opts.greetingDelayMs ?? 1000);
      client.greetTimer.unref();
    }
  }

  /** The greeting's events that pass the client's current filter. */
  private greet(client: Client): void {
    for (const ev of this.opts.greeting?.() ?? []) if (this.matches(client.filter, ev)) this.sendTo(client, ev.json);
  }

  private reply(client: Client, msg: unknown): void {
    this.sendTo(client, JSON.stringify(msg));
  }

  private async onMessage(client: Client, data: RawData, isBinary: boolean): Promise<void> {
    if (!client.limiter.take()) {
      this.reply(client, { type: 'error', error: `too many messages: at most ${this.messagesPerMinute} a minute` });
      return;
    }
    const parsed = parseClientMessage(data, isBinary);
    if (!parsed.ok) {
      this.reply(client, { type: 'error', error: parsed.error });
      return;
    }
    const msg = parsed.message;
    if (msg.type === 'subscribe') {
      client.filter = {
        cameras: msg.cameras && new Set(msg.cameras),
        labels: msg.labels && new Set(msg.labels),
        minScore: msg.minScore,
        kinds: msg.kinds && new Set(msg.kinds),
      };
      client.subscribed = true;
      clearTimeout(client.greetTimer);
      client.greetTimer = undefined;
      this.reply(client, { type: 'subscribed', cameras: msg.cameras ?? null, labels: msg.labels ?? null, minScore: msg.minScore ?? null, kinds: msg.kinds ?? OUTPUT_KINDS });
      // Synchronously after the filter changed: no live event can slip between the two.
      this.greet(client);
      return;
    }
    await this.changeVocabulary(client, { labels: msg.labels, ...(msg.templates ? { templates: msg.templates } : {}) });
  }

  /** A `vocabulary` message: needs an operator token (when tokens are configured); audited either way. */
  private async changeVocabulary(client: Client, update: VocabularyUpdate): Promise<void> {
    const { principal } = client;
    const audit = (outcome: 'accepted' | 'refused', reason?: string, target?: string) =>
      this.opts.audit?.record({ principal, action: 'vocabulary.update', target, outcome, reason, address: client.address, via: 'websocket' });
    try {
      if (this.opts.onVocabulary === undefined) throw new ConfigError('vocabulary changes are not enabled on this server');
      requireRole(principal, 'operator', this.opts.access ?? {});
      const version = await this.opts.onVocabulary(update);
      audit('accepted', undefined, `version ${version}: ${update.labels.length} labels`);
      this.reply(client, { type: 'vocabulary', version });
    } catch (err) {
      audit('refused', (err as Error).message);
      this.reply(client, { type: 'error', error: (err as Error).message });
    }
  }

  private matches(f: Filter, ev: OutputEvent): boolean {
    if (f.kinds !== undefined && !f.kinds.has(ev.kind)) return false;
    if (f.cameras !== undefined && !f.cameras.has(ev.camera)) return false;
    if (ev.kind === 'camera') return true; // label/score filters are about detections
    if (f.labels !== undefined && !ev.labels.some((l) => f.labels!.has(l))) return false;
    if (f.minScore !== undefined && (ev.score ?? 0) < f.minScore) return false;
    return true;
  }

  publish(event: OutputEvent): void {
    if (this.closed) return;
    for (const client of this.clientsById.values()) {
      if (client.closing || !this.matches(client.filter, event)) continue;
      this.sendTo(client, event.json);
    }
  }

  private sendTo(client: Client, json: string): void {
    if (client.closing || client.ws.readyState !== WebSocket.OPEN) return;
    client.queue.push(json);
    this.flush(client);
    if (client.queue.length > this.maxQueue) {
      this.opts.instrumentation?.emit('sink.dropped', { sink: 'websocket', reason: 'slow_client', count: client.queue.length });
      this.closeSlow(client);
    }
  }

  /** Moves queued messages into the socket while its buffer has room; resumes from send callbacks. */
  private flush(client: Client): void {
    while (client.queue.length > 0 && client.ws.readyState === WebSocket.OPEN && client.ws.bufferedAmount < this.maxBuffered) {
      const msg = client.queue.shift()!;
      client.ws.send(msg, (err) => {
        if (err === undefined || err === null) {
          this.opts.instrumentation?.emit('sink.delivered', { sink: 'websocket', count: 1 });
          if (client.queue.length > 0 && !client.closing) this.flush(client);
        }
      });
    }
  }

  private closeSlow(client: Client): void {
    client.closing = true;
    client.queue = [];
    this.slowClosed++;
    const reason = `too slow: more than ${this.maxQueue} messages waiting`;
    this.opts.logger?.warn({ client: client.id }, `closing websocket client: ${reason}`);
    client.ws.close(CLOSE_TOO_SLOW, reason);
    // The close frame waits behind the client's unread data; do not hold the socket forever.
    setTimeout(() => client.ws.terminate(), 10_000).unref();
  }

  private beat(): void {
    for (const client of this.clientsById.values()) {
      if (!client.alive) {
        this.opts.logger?.info({ client: client.id }, 'websocket client missed a heartbeat: terminated');
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      try {
        client.ws.ping();
      } catch {
        /* closed meanwhile */
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.opts.server.off('upgrade', this.onUpgrade);
    for (const c of this.clientsById.values()) {
      clearTimeout(c.greetTimer);
      c.ws.close(CLOSE_GOING_AWAY, 'server shutting down');
      setTimeout(() => c.ws.terminate(), 1000).unref();
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
