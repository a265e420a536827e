// The browser preview relay (node-rtsp-stream) against a real RTSP server and a real WebSocket
// client. The relay runs in a child process (preview-harness.ts) so that everything it prints,
// node-rtsp-stream's own console output included, can be checked for the camera's password.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { canConnect, freePort, sleep, isAlive } from '../../harness/processes.js';
import { publishTestPattern, startRtspServer, type Publisher, type RtspServer } from '../../harness/rtsp-server.js';

const HARNESS = fileURLToPath(new URL('./preview-harness.ts', import.meta.url));
const PASSWORD = 's3cretPass';

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
};

interface Harness {
  readonly proc: ChildProcess;
  /** Everything the relay's process printed so far, stdout and stderr. */
  output(): string;
  next(event: string): Promise<Record<string, unknown>>;
  send(line: string): void;
  exited: Promise<number | null>;
}

const harnesses: Harness[] = [];
const relayPids: number[] = [];

function startHarness(url: string, basePort: number): Harness {
  const proc = spawn(process.execPath, ['--import', 'tsx', HARNESS, url, String(basePort)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const events: Array<Record<string, unknown>> = [];
  let lineBuf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    lineBuf += d.toString();
    const lines = lineBuf.split('\n');
    lineBuf = lines.pop() ?? '';
    for (const l of lines) {
      try {
        const m = JSON.parse(l) as Record<string, unknown>;
        if (typeof m.event === 'string') events.push(m);
      } catch {
        /* console output from node-rtsp-stream */
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const h: Harness = {
    proc,
    output: () => out,
    next: async (event) => {
      await until(`"${event}" from the harness (output so far: ${out.slice(-2000)})`, () => events.some((e) => e.event === event) || proc.exitCode !== null);
      const e = events.find((x) => x.event === event);
      if (e === undefined) throw new Error(`harness exited (${proc.exitCode}) before "${event}": ${out.slice(-2000)}`);
      return e;
    },
    send: (line) => void proc.stdin!.write(`${line}\n`),
    exited,
  };
  harnesses.push(h);
  return h;
}

/** Opens a WebSocket to the relay once its port listens; collects the binary messages. */
async function watch(port: number): Promise<{ ws: WebSocket; messages: Buffer[]; closed: Promise<void> }> {
  await until(`the relay listening on ${port}`, () => canConnect(port));
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const messages: Buffer[] = [];
  ws.on('message', (d: Buffer, isBinary: boolean) => {
    if (isBinary) messages.push(Buffer.from(d));
  });
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  return { ws, messages, closed };
}

/** Offset of the first of `n` consecutive 188-byte MPEG-TS packets (sync byte 0x47), or -1. */
function tsAlignment(data: Buffer, n: number): number {
  for (let off = 0; off < 188 && off + 188 * n <= data.length; off++) {
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = data[off + 188 * i] === 0x47;
    if (ok) return off;
  }
  return -1;
}

describe('PreviewRelay (node-rtsp-stream) on a real RTSP server', () => {
  let rtsp: RtspServer;
  let publisher: Publisher | undefined;
  let url: string;

  beforeAll(async () => {
    rtsp = await startRtspServer();
    publisher = await publishTestPattern(rtsp.url('cam'), { fps: 10, width: 64, height: 48 });
    // The server asks for no credentials; the relay must still never print these.
    url = rtsp.url('cam').replace('rtsp://', `rtsp://viewer:${PASSWORD}@`);
  });
  afterEach(async () => {
    for (const h of harnesses.splice(0)) {
      h.proc.kill('SIGKILL');
      await h.exited;
    }
    for (const pid of relayPids.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  afterAll(async () => {
    await publisher?.stop();
    await rtsp?.stop();
  });

  it('serves the JSMpeg header then MPEG-TS with MPEG-1 video; stop kills its ffmpeg and frees the port; no password printed', async () => {
    const wsPort = await freePort();
    const h = startHarness(url, wsPort);
    const started = await h.next('started');
    expect(started).toMatchObject({ camera: 'cam', wsPort });
    const pid = started.pid as number;
    expect(typeof pid).toBe('number');
    relayPids.push(pid);
    expect(isAlive(pid)).toBe(true);

    const client = await watch(wsPort);
    const ts = (): Buffer => Buffer.concat(client.messages.slice(1));
    // Enough for a few GOPs: the MPEG-1 sequence header starts each one.
    await until('MPEG-TS with an MPEG-1 sequence header', () => ts().includes(Buffer.from([0, 0, 1, 0xb3])) && ts().length >= 188 * 50);

    // node-rtsp-stream's header: "jsmp", then width and height (uint16 BE).
    const header = client.messages[0];
    expect(header.length).toBe(8);
    expect(header.subarray(0, 4).toString('latin1')).toBe('jsmp');
    expect([header.readUInt16BE(4), header.readUInt16BE(6)]).toEqual([64, 48]);
    // Then ffmpeg's stdout as it comes: whole 188-byte TS packets, though a message may start
    // mid-packet (the client joined a running stream).
    const data = ts();
    const off = tsAlignment(data, Math.floor((data.length - 188) / 188));
    expect(off).toBeGreaterThanOrEqual(0);

    h.send('stop');
    expect(await h.next('stopped')).toEqual({ event: 'stopped', info: null });
    expect(isAlive(pid)).toBe(false); // stop() resolves once ffmpeg has exited
    expect(await canConnect(wsPort)).toBe(false);
    await client.closed; // the viewer is disconnected, not left hanging

    h.proc.stdin!.end(); // the harness has nothing left to do
    await h.exited;
    const printed = h.output();
    expect(printed).toContain('rtsp://***@127.0.0.1'); // ffmpeg's echo of its input, redacted
    expect(printed).not.toContain(PASSWORD);
    expect(printed).not.toContain('viewer:');
  });

  it('a preview port that is already taken is logged, not fatal to the process', async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '0.0.0.0', r));
    try {
      const h = startHarness(url, port);
      const started = await h.next('started');
      relayPids.push(started.pid as number);
      await until('the failure to be logged', () => /preview/.test(h.output()) && /EADDRINUSE/.test(h.output()));
      expect(h.proc.exitCode).toBeNull(); // still running
      await until('its ffmpeg to be stopped', () => !isAlive(started.pid as number));
      expect(h.output()).not.toContain(PASSWORD);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
