import { describe, expect, it } from 'vitest';
import { decodeFleetFrame } from '../../src/fleet/fleet-frames.js';
import { MalformedFrameError } from '../../src/sources/kafka-frames.js';

const rgb = (headers: Record<string, string>) => ({ key: Buffer.from('cam-1'), value: Buffer.alloc(2 * 2 * 3, 7), headers: { width: '2', height: '2', format: 'rgb', ts: '1000', ...headers }, timestamp: '1' });

describe('decodeFleetFrame', () => {
  it('reads the frame and its number in its ingest session', async () => {
    const f = await decodeFleetFrame(rgb({ seq: '41', session: 'host-1-abc' }));
    expect(f).toMatchObject({ camera: 'cam-1', captureTs: 1000, width: 2, height: 2, seq: 41, session: 'host-1-abc' });
    expect(f.rgb.length).toBe(12);
  });

  it.each([
    [{ session: 's' }, /header seq=null is not a frame number/],
    [{ seq: '-1', session: 's' }, /header seq="-1"/],
    [{ seq: '1.5', session: 's' }, /header seq="1.5"/],
    [{ seq: '3' }, /header session must be a session id/],
    [{ seq: '3', session: '' }, /header session must be a session id/],
  ])('refuses %j, saying which header is wrong', async (headers, message) => {
    const err = await decodeFleetFrame(rgb(headers)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedFrameError);
    expect((err as MalformedFrameError).reason).toBe('headers');
    expect((err as Error).message).toMatch(message);
  });
});
