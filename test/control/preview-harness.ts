// Runs a PreviewRelay in its own process so the test sees everything it prints (its logger at
// debug level, node-rtsp-stream's console output, anything written to stdout or stderr).
// Protocol: JSON lines with an `event` key on stdout; `stop` on stdin stops the camera's relay.
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { PreviewRelay } from '../../src/control/preview.js';

const [url, basePort, ffmpegPath] = process.argv.slice(2);
const say = (msg: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);
const relay = new PreviewRelay({ basePort: Number(basePort), ffmpegPath, logger: pino({ level: 'debug' }), width: 64, height: 48 });
const info = relay.start({ id: 'cam', url });
say({ event: 'started', ...info, pid: relay.pid('cam') });
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stop') {
    await relay.stop('cam');
    say({ event: 'stopped', info: relay.info('cam') ?? null });
  }
}
