import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chooseLogFormat, createLogger } from '../../src/observability/logger.js';

function capture(): { text: () => string; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c.toString()), cb()) });
  return { text: () => chunks.join(''), stream };
}

describe('log format', () => {
  it.each([
    [{ isTTY: true }, {}, 'pretty'],
    [{ isTTY: false }, {}, 'json'],
    [{}, {}, 'json'],
    [{ isTTY: true }, { ACTIONCLIP_LOG_FORMAT: 'json' }, 'json'],
    [{ isTTY: false }, { ACTIONCLIP_LOG_FORMAT: 'pretty' }, 'pretty'],
  ] as const)('stream %o with env %o -> %s', (stream, env, expected) => {
    expect(chooseLogFormat(stream, env)).toBe(expected);
  });

  it('refuses an unknown ACTIONCLIP_LOG_FORMAT, naming it', () => {
    expect(() => chooseLogFormat({}, { ACTIONCLIP_LOG_FORMAT: 'xml' })).toThrow('ACTIONCLIP_LOG_FORMAT must be json or pretty, got "xml"');
  });

  it('pretty lines for a person, JSON lines for machines; credentials redacted in both', () => {
    for (const format of ['pretty', 'json'] as const) {
      const out = capture();
      const log = createLogger({ format, destination: out.stream });
      log.info({ camera: 'rtsp://admin:hunter2@10.0.0.5/x' }, 'camera added');
      const text = out.text();
      expect(text).toContain('rtsp://***@10.0.0.5/x');
      expect(text).not.toContain('hunter2');
      if (format === 'json') expect(JSON.parse(text)).toMatchObject({ level: 30, msg: 'camera added' });
      else {
        expect(() => JSON.parse(text)).toThrow();
        expect(text).toMatch(/INFO.*camera added/);
      }
    }
  });
});
