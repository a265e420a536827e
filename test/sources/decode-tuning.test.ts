import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import type { DecodeTuning } from '../../config/schema.js';
import { cameraFrames } from '../../src/sources/camera-source.js';
import { cameraArgs, decoderArgs, scaleFilter } from '../../src/sources/ffmpeg-camera.js';
import { resolveFfmpeg } from '../../src/sources/ffmpeg-path.js';
import { isCameraState } from '../../src/sources/frame-source.js';
import { describeUrl } from '../../src/sources/registry.js';
import type { Frame } from '../../src/types.js';
import { publishTestPattern, startRtspServer, type Publisher, type RtspServer } from '../../harness/rtsp-server.js';

const supervision = { stallTimeoutSec: 10, connectTimeoutSec: 20, backoff: { initialMs: 200, maxMs: 1000, jitter: 0.2 } };
const argsOf = (url: string, tuning: Partial<DecodeTuning>) => cameraArgs(url, describeUrl(url), { fps: 4, width: 32, height: 24, tuning });

describe('decode tuning: ffmpeg arguments', () => {
  it('adds nothing when unset or at the defaults, so ffmpeg keeps its own behaviour', () => {
    expect(decoderArgs({})).toEqual([]);
    expect(decoderArgs({ threads: 0, skipLoopFilter: 'none', skipFrame: 'none' })).toEqual([]);
    expect(scaleFilter(32, 24, {})).toBe('scale=32:24');
  });

  it.each<[Partial<DecodeTuning>, string[]]>([
    [{ threads: 1 }, ['-threads', '1']],
    [{ skipLoopFilter: 'nonref' }, ['-skip_loop_filter', 'noref']],
    [{ skipLoopFilter: 'all' }, ['-skip_loop_filter', 'all']],
    [{ skipFrame: 'nonref' }, ['-skip_frame', 'noref']],
    [{ skipFrame: 'nokey' }, ['-skip_frame', 'nokey']],
  ])('%o are decoder options, given before -i', (tuning, expected) => {
    const args = argsOf('rtsp://127.0.0.1:8554/cam', tuning);
    const at = args.findIndex((_, i) => expected.every((e, k) => args[i + k] === e));
    expect(at, args.join(' ')).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThan(args.indexOf('-i'));
  });

  it('crop keeps the aspect ratio and cuts the centre; the scaler is swscale flags', () => {
    expect(scaleFilter(256, 256, { fit: 'crop' })).toBe('scale=256:256:force_original_aspect_ratio=increase,crop=256:256');
    expect(scaleFilter(32, 24, { scaler: 'fast_bilinear' })).toBe('scale=32:24:flags=fast_bilinear');
    const args = argsOf('rtsp://127.0.0.1:8554/cam', { fit: 'crop', scaler: 'area' });
    const vf = args[args.indexOf('-vf') + 1];
    expect(vf).toBe('fps=4,scale=32:24:force_original_aspect_ratio=increase:flags=area,crop=32:24,showinfo');
  });

  it('the configuration takes defaults, per-camera overrides and a detectUrl, and names a bad value', () => {
    const config = loadConfig({
      overrides: {
        weights: 'w',
        decode: { threads: 1 },
        cameras: [{ id: 'a', url: 'rtsp://127.0.0.1/main', detectUrl: 'rtsp://127.0.0.1/sub', decode: { skipFrame: 'nokey' } }],
      },
    });
    expect(config.decode).toMatchObject({ width: 256, height: 256, fit: 'crop', scaler: 'bicubic', threads: 1, skipFrame: 'none' });
    expect(config.cameras[0]).toMatchObject({ detectUrl: 'rtsp://127.0.0.1/sub', decode: { skipFrame: 'nokey' } });
    expect(() => loadConfig({ overrides: { weights: 'w', cameras: [{ id: 'a', url: 'rtsp://127.0.0.1/x', decode: { skipFrame: 'some' } }] } })).toThrow(/cameras\[0\]\.decode\.skipFrame/);
    expect(() => loadConfig({ overrides: { weights: 'w', cameras: [{ id: 'a', url: 'rtsp://127.0.0.1/x', detectUrl: '' }] } })).toThrow(/detectUrl/);
  });
});

describe('decode tuning on a real RTSP stream', () => {
  let rtsp: RtspServer;
  let publisher: Publisher | undefined;
  beforeAll(async () => {
    rtsp = await startRtspServer();
    // A 16:9 H.264 stream with one keyframe a second (the publisher's GOP is its frame rate).
    publisher = await publishTestPattern(rtsp.url('cam'), { fps: 10, width: 320, height: 180 });
  });
  afterAll(async () => {
    await publisher?.stop();
    await rtsp?.stop();
  });

  const frames = (url: string, fps: number, width: number, height: number, tuning: Partial<DecodeTuning>, n: number): Promise<Frame[]> =>
    firstValueFrom(
      cameraFrames({ id: 'tuned', url }, { fps, width, height, tuning, ffmpegPath: resolveFfmpeg().path, supervision }).pipe(
        filter((e): e is Frame => !isCameraState(e)),
        take(n),
        toArray(),
      ),
    );

  const expectSpacing = (got: Frame[], fps: number): void => {
    const gaps = got.slice(1).map((f, i) => f.captureTs - got[i].captureTs);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(gaps.every((g) => g > 0), `gaps ${gaps.join(',')}`).toBe(true);
    expect(mean, `gaps ${gaps.join(',')}`).toBeGreaterThan(0.5 * (1000 / fps));
    expect(mean, `gaps ${gaps.join(',')}`).toBeLessThan(1.5 * (1000 / fps));
  };

  it.each<[string, Partial<DecodeTuning>]>([
    ['one decoder thread', { threads: 1 }],
    ['no loop filter', { skipLoopFilter: 'all' }],
    ['reference frames only', { skipFrame: 'nonref' }],
    ['the cheapest scaler, cropped', { scaler: 'fast_bilinear', fit: 'crop' }],
  ])('%s: frames of the asked size, spaced at the sampled rate', async (_, tuning) => {
    const got = await frames(rtsp.url('cam'), 4, 32, 24, tuning, 6);
    expect(got.map((f) => [f.width, f.height, f.rgb.length])).toEqual(got.map(() => [32, 24, 32 * 24 * 3]));
    expectSpacing(got, 4);
  });

  it('keyframes only, sampled at the keyframe rate (1/s): one frame a second', async () => {
    const got = await frames(rtsp.url('cam'), 1, 32, 24, { skipFrame: 'nokey', threads: 1 }, 4);
    expect(got).toHaveLength(4);
    expectSpacing(got, 1);
  });

  it('detection reads detectUrl when a camera has one', async () => {
    const got = await firstValueFrom(
      cameraFrames({ id: 'sub', url: 'rtsp://127.0.0.1:1/never-opened', detectUrl: rtsp.url('cam') }, { fps: 4, width: 16, height: 16, ffmpegPath: resolveFfmpeg().path, supervision }).pipe(
        filter((e): e is Frame => !isCameraState(e)),
        take(2),
        toArray(),
      ),
    );
    expect(got.map((f) => f.camera)).toEqual(['sub', 'sub']);
  });
});

describe('fit: crop against stretch on a picture with a known centre', () => {
  // 16:9, red in the middle 240 of 320 columns, blue at the sides. Cropped to a square, only the red
  // centre is left; stretched, the blue sides stay.
  const url = 'lavfi:color=c=blue:s=320x180:r=10,drawbox=x=40:y=0:w=240:h=180:color=red:t=fill';
  const first = (tuning: Partial<DecodeTuning>): Promise<Frame> =>
    firstValueFrom(
      cameraFrames({ id: 'geometry', url }, { fps: 5, width: 32, height: 32, tuning, ffmpegPath: resolveFfmpeg().path, supervision }).pipe(filter((e): e is Frame => !isCameraState(e))),
    );
  const blueAt = (f: Frame, x: number, y: number): boolean => {
    const i = (y * f.width + x) * 3;
    return f.rgb[i + 2] > 200 && f.rgb[i] < 60;
  };

  it('crop keeps only the centre; stretch keeps the sides', async () => {
    const [cropped, stretched] = await Promise.all([first({ fit: 'crop' }), first({ fit: 'stretch' })]);
    expect(blueAt(cropped, 0, 16) || blueAt(cropped, 31, 16)).toBe(false);
    expect(blueAt(stretched, 0, 16) && blueAt(stretched, 31, 16)).toBe(true);
  });
});
