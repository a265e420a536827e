import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { OutputEvent } from '../../src/sinks/events.js';
import { CLOSE_TOO_SLOW, WebSocketHub } from '../../src/sinks/websocket-hub.js';

const ev = (kind: OutputEvent['kind'], camera: string, label: string, score: number, pad = 0): OutputEvent => ({
  kind,
  camera,
  labels: [label],
  score,
  json: JSON.stringify({ type: kind, camera, label, score, pad: 'x'.repeat(pad) }),
});

const camEv = (camera: string, status: string): OutputEvent => ({ kind: 'camera', camera, labels: [], json: JSON.stringify({ type: 'camera', camera, state: { status } }) });
/** What the hub's greeting returns: the cameras' current states (none unless a test sets them). */
let currentStates: OutputEvent[] = [];
const GREETING_DELAY_MS = 150;

let server: Server;
let hub: WebSocketHub;
let url: string;
const clients: WebSocket[] = [];

async function connect(): Promise<{ ws: WebSocket; messages: Array<Record<string, unknown>> }> {
  const ws = new WebSocket(url);
  clients.push(ws);
  const messages: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  return { ws, messages };
}
const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

beforeEach(async () => {
  server = createServer((_, res) => res.writeHead(404).end());
  currentStates = [];
  hub = new WebSocketHub({ server, maxQueue: 20, maxBufferedBytes: 64 * 1024, heartbeatMs: 200, greeting: () => currentStates, greetingDelayMs: GREETING_DELAY_MS, onVocabulary: async (u) => (u.labels.includes('boom') ? Promise.reject(new Error('labels: boom is not allowed')) : 7) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await hub.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('WebSocketHub', () => {
  it('filters by camera, label, minScore and kind after a subscribe message', async () => {
    const a = await connect();
    const all = await connect();
    a.ws.send(JSON.stringify({ type: 'subscribe', cameras: ['door'], labels: ['run'], minScore: 0.5, kinds: ['start', 'window'] }));
    await until(() => a.messages.some((m) => m.type === 'subscribed'));
    hub.publish(ev('start', 'door', 'run', 0.9));
    hub.publish(ev('start', 'yard', 'run', 0.9)); // other camera
    hub.publish(ev('start', 'door', 'walk', 0.9)); // other label
    hub.publish(ev('window', 'door', 'run', 0.2)); // below minScore
    hub.publish(ev('end', 'door', 'run', 0.9)); // other kind
    hub.publish(ev('window', 'door', 'run', 0.6));
    await until(() => all.messages.length >= 6);
    await new Promise((r) => setTimeout(r, 50));
    expect(a.messages.filter((m) => m.type !== 'subscribed').map((m) => `${m.type}:${m.camera}:${m.label}:${m.score}`)).toEqual(['start:door:run:0.9', 'window:door:run:0.6']);
  });

  it('answers invalid messages with an error and keeps the connection', async () => {
    const c = await connect();
    c.ws.send('not json');
    c.ws.send(JSON.stringify({ type: 'subscribe', minScore: 3 }));
    c.ws.send(JSON.stringify({ type: 'dance' }));
    await until(() => c.messages.length >= 3);
    expect(c.messages.every((m) => m.type === 'error')).toBe(true);
    expect(String(c.messages[1].error)).toContain('minScore');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    hub.publish(ev('window', 'door', 'run', 0.6));
    await until(() => c.messages.length >= 4);
  });

  it('applies vocabulary control messages and replies with the version or the error', async () => {
    const c = await connect();
    c.ws.send(JSON.stringify({ type: 'vocabulary', labels: ['a', 'b'] }));
    c.ws.send(JSON.stringify({ type: 'vocabulary', labels: ['boom'] }));
    c.ws.send(JSON.stringify({ type: 'vocabulary', labels: [] }));
    await until(() => c.messages.length >= 3);
    expect(c.messages[0]).toEqual({ type: 'vocabulary', version: 7 });
    expect(c.messages.slice(1).map((m) => m.type)).toEqual(['error', 'error']);
  });

  it('closes a subscriber that stops reading with 1013 and a reason, without holding up the others', async () => {
    const slow = await connect();
    const fast = await connect();
    let closed: { code: number; reason: string } | undefined;
    slow.ws.on('close', (code, reason) => (closed = { code, reason: reason.toString() }));
    slow.ws.pause(); // stop reading: the kernel buffers fill, then the socket's, then the hub queue
    const t0 = Date.now();
    // Paced like a pipeline (not one synchronous burst), so a reading client keeps up.
    for (let i = 0; i < 5000 && hub.slowClosed === 0; i++) {
      hub.publish(ev('window', 'door', 'run', 0.5, 16 * 1024));
      await new Promise((r) => setImmediate(r));
    }
    expect(hub.slowClosed).toBe(1);
    expect(Date.now() - t0).toBeLessThan(20_000); // publish never waited on the slow client
    const sent = fast.messages.length;
    hub.publish(ev('window', 'door', 'after', 0.5));
    slow.ws.resume();
    await until(() => closed !== undefined, 15_000);
    expect(closed!.code).toBe(CLOSE_TOO_SLOW);
    expect(closed!.reason).toMatch(/too slow/);
    await until(() => fast.messages.some((m) => m.label === 'after'), 15_000);
    expect(fast.messages.length).toBeGreaterThan(sent);
  });

  it('terminates clients that stop answering pings', async () => {
    const c = await connect();
    // Make the client deaf to pings: ws answers pings automatically, so drop its socket's reads.
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await until(() => hub.clients === 0, 5000);
  });

  describe('current camera states', () => {
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    const types = (msgs: Array<Record<string, unknown>>): string[] => msgs.map((m) => (m.type === 'camera' ? `camera:${String(m.camera)}` : String(m.type)));
    beforeEach(() => {
      currentStates = [camEv('door', 'streaming'), camEv('yard', 'reconnecting')];
    });

    it('a client that subscribes to windows only never gets camera states', async () => {
      const c = await connect();
      c.ws.send(JSON.stringify({ type: 'subscribe', kinds: ['window'] }));
      await until(() => c.messages.some((m) => m.type === 'subscribed'));
      await sleep(3 * GREETING_DELAY_MS); // past the point where a non-subscriber is greeted
      hub.publish(camEv('door', 'stalled'));
      hub.publish(ev('window', 'door', 'run', 0.6));
      await until(() => c.messages.some((m) => m.type === 'window'));
      expect(types(c.messages)).toEqual(['subscribed', 'window']);
    });

    it('a subscribe that includes camera gets the matching states right after its answer, again on every subscribe', async () => {
      const c = await connect();
      c.ws.send(JSON.stringify({ type: 'subscribe', cameras: ['door'], kinds: ['camera', 'start'] }));
      await until(() => c.messages.length >= 2);
      c.ws.send(JSON.stringify({ type: 'subscribe', cameras: ['yard'] }));
      await until(() => c.messages.length >= 4);
      await sleep(3 * GREETING_DELAY_MS);
      expect(types(c.messages)).toEqual(['subscribed', 'camera:door', 'subscribed', 'camera:yard']);
      expect(c.messages[3]).toEqual({ type: 'camera', camera: 'yard', state: { status: 'reconnecting' } });
    });

    it('a client that never subscribes still starts with every camera state (no filter = everything)', async () => {
      const c = await connect();
      await until(() => c.messages.length >= 2);
      await sleep(3 * GREETING_DELAY_MS);
      expect(types(c.messages)).toEqual(['camera:door', 'camera:yard']);
    });
  });
});
