import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeFrameMessage, MalformedFrameError } from '../../src/sources/kafka-frames.js';

const rgb = (w: number, h: number, v = 7): Buffer => Buffer.alloc(w * h * 3, v);
const msg = (key: string | null, value: Buffer | null, headers: Record<string, string> = {}) => ({ key: key === null ? null : Buffer.from(key), value, headers, timestamp: '1700000000000' });

describe('decodeFrameMessage', () => {
  it('takes raw RGB with width/height headers and the ts header as capture time', async () => {
    const f = await decodeFrameMessage(msg('door', rgb(4, 2), { width: '4', height: '2', ts: '1700000001234' }));
    expect(f).toMatchObject({ camera: 'door', width: 4, height: 2, captureTs: 1700000001234 });
    expect(f.rgb.length).toBe(24);
  });

  it('decodes PNG and JPEG (alpha and grey removed) and resizes when asked', async () => {
    const png = await sharp(rgb(8, 6, 200), { raw: { width: 8, height: 6, channels: 3 } }).ensureAlpha().png().toBuffer();
    const f = await decodeFrameMessage(msg('door', png));
    expect(f).toMatchObject({ width: 8, height: 6, captureTs: 1700000000000 });
    expect(f.rgb.length).toBe(8 * 6 * 3);
    const grey = await sharp(Buffer.alloc(16 * 16, 90), { raw: { width: 16, height: 16, channels: 1 } }).jpeg().toBuffer();
    const g = await decodeFrameMessage(msg('door', grey), { width: 4, height: 4 });
    expect(g).toMatchObject({ width: 4, height: 4 });
    expect(g.rgb.length).toBe(48);
    const r = await decodeFrameMessage(msg('door', rgb(8, 8), { width: '8', height: '8' }), { width: 4, height: 4 });
    expect(r.rgb.length).toBe(48);
  });

  it('crop keeps the centre of a wide frame, as the ffmpeg sources do; stretch keeps its sides', async () => {
    // 8×4: blue columns 0-1 and 6-7, red 2-5. A 4×4 crop keeps columns 2-5.
    const wide = Buffer.alloc(8 * 4 * 3);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) wide.set(x < 2 || x > 5 ? [0, 0, 255] : [255, 0, 0], (y * 8 + x) * 3);
    const m = msg('door', wide, { width: '8', height: '4', format: 'rgb' });
    const cropped = await decodeFrameMessage(m, { width: 4, height: 4, fit: 'crop' });
    const stretched = await decodeFrameMessage(m, { width: 4, height: 4, fit: 'stretch' });
    expect([cropped.rgb[0], cropped.rgb[2]]).toEqual([255, 0]);
    expect(stretched.rgb[2]).toBeGreaterThan(stretched.rgb[0]);
  });

  it.each([
    ['no key', msg(null, rgb(1, 1), { width: '1', height: '1' }), 'key'],
    ['a bad camera id', msg('a b', rgb(1, 1), { width: '1', height: '1' }), 'key'],
    ['an empty value', msg('door', Buffer.alloc(0)), 'size'],
    ['raw of the wrong size', msg('door', rgb(2, 2), { width: '4', height: '4', format: 'rgb' }), 'size'],
    ['raw without a size', msg('door', rgb(2, 2), { format: 'rgb' }), 'headers'],
    ['a non-numeric width', msg('door', rgb(2, 2), { width: 'x', height: '2' }), 'headers'],
    ['a bad ts', msg('door', rgb(1, 1), { width: '1', height: '1', ts: 'yesterday' }), 'headers'],
    ['garbage bytes', msg('door', Buffer.from('definitely not an image')), 'image'],
  ])('rejects %s', async (_name, m, reason) => {
    const err = await decodeFrameMessage(m).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedFrameError);
    expect((err as MalformedFrameError).reason).toBe(reason);
  });
});
