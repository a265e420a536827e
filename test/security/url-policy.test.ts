// The camera URL policy on the policy function itself: no address here is ever connected to (a
// resolver is injected for host names), so private, link-local and metadata addresses are safe to list.
import { describe, expect, it } from 'vitest';
import { addressClass, checkCameraUrl, DEFAULT_URL_POLICY, UrlPolicyError, type CameraUrlPolicy } from '../../src/security/url-policy.js';
import { cameraArgs } from '../../src/sources/ffmpeg-camera.js';
import { describeUrl } from '../../src/sources/registry.js';

const noDns = async (host: string): Promise<string[]> => {
  throw new Error(`the test resolved ${host}`);
};
const refusal = async (url: string, policy: CameraUrlPolicy = DEFAULT_URL_POLICY, resolve = noDns): Promise<string | undefined> => {
  try {
    await checkCameraUrl(url, policy, resolve);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(UrlPolicyError);
    return (err as UrlPolicyError).rule;
  }
};

describe('camera URL policy', () => {
  it.each([
    ['file:///etc/shadow', 'allowFileSources'],
    ['/etc/shadow', 'allowFileSources'],
    ['concat:/etc/passwd|/etc/shadow', 'allowedSchemes'],
    ['subfile:,,start,0,end,0,,:/etc/passwd', 'allowedSchemes'],
    ['lavfi:movie=/etc/passwd', 'allowedSchemes'],
    ['rtmp://10.0.0.5/live', 'allowedSchemes'],
    ['rtsp://127.0.0.1:8554/cam', 'allowLoopback'],
    ['rtsp://127.8.9.10/cam', 'allowLoopback'],
    ['http://[::1]:8080/cam.mjpg', 'allowLoopback'],
    ['http://[::ffff:127.0.0.1]/x', 'allowLoopback'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://100.100.100.200/', 'metadata'],
    ['rtsp://169.254.10.20/cam', 'allowLinkLocal'],
    ['rtsp://[fe80::1]/cam', 'allowLinkLocal'],
    ['rtsp://0.0.0.0/cam', 'unspecified'],
    ['rtsp://user:pw@/cam', 'url'],
  ])('refuses %s by rule %s', async (url, rule) => {
    expect(await refusal(url)).toBe(rule);
  });

  it.each(['rtsp://10.0.0.5:554/stream1', 'rtsps://192.168.1.20/cam', 'http://172.16.3.4/mjpg/video.mjpg', 'https://203.0.113.7/live.m3u8', 'v4l2:///dev/video0'])('accepts %s by default', async (url) => {
    expect(await refusal(url)).toBeUndefined();
  });

  it('each relaxation is its own setting', async () => {
    expect(await refusal('rtsp://127.0.0.1/cam', { ...DEFAULT_URL_POLICY, allowLoopback: true })).toBeUndefined();
    expect(await refusal('file:///videos/door.mp4', { ...DEFAULT_URL_POLICY, allowFileSources: true })).toBeUndefined();
    expect(await refusal('rtsp://10.0.0.5/cam', { ...DEFAULT_URL_POLICY, allowPrivate: false })).toBe('allowPrivate');
    // Metadata endpoints stay refused whatever else is allowed.
    expect(await refusal('http://169.254.169.254/', { ...DEFAULT_URL_POLICY, allowLinkLocal: true })).toBe('metadata');
  });

  it('applies CIDR allow and deny lists to every address a host resolves to', async () => {
    const cams = { ...DEFAULT_URL_POLICY, allowHosts: ['10.1.0.0/16', '2001:db8::/32'], denyHosts: ['10.1.9.0/24'] };
    expect(await refusal('rtsp://10.1.2.3/cam', cams)).toBeUndefined();
    expect(await refusal('rtsp://[2001:db8::5]/cam', cams)).toBeUndefined();
    expect(await refusal('rtsp://10.1.9.3/cam', cams)).toBe('denyHosts');
    expect(await refusal('rtsp://10.2.0.1/cam', cams)).toBe('allowHosts');
    const resolveTo = (...addrs: string[]) => async () => addrs;
    expect(await refusal('rtsp://door.cams.example/s', cams, resolveTo('10.1.4.4'))).toBeUndefined();
    // One bad address among several is enough to refuse (a name must not smuggle one in).
    expect(await refusal('rtsp://door.cams.example/s', cams, resolveTo('10.1.4.4', '169.254.169.254'))).toBe('metadata');
    expect(await refusal('rtsp://nowhere.example/s', DEFAULT_URL_POLICY, async () => [])).toBe('resolve');
    expect(await refusal('rtsp://nowhere.example/s', DEFAULT_URL_POLICY, noDns)).toBe('resolve');
  });

  it('names the rule and never shows credentials', async () => {
    await expect(checkCameraUrl('rtsp://admin:hunter2@127.0.0.1/cam', DEFAULT_URL_POLICY, noDns)).rejects.toThrow('camera URL refused by rule "allowLoopback": 127.0.0.1 is a loopback address');
    await expect(checkCameraUrl('file:///x?token=abc', DEFAULT_URL_POLICY, noDns)).rejects.not.toThrow(/abc/);
  });

  it('classifies addresses', () => {
    expect(['127.0.0.1', '::1', '169.254.3.4', '169.254.169.254', '10.9.8.7', '100.64.1.1', 'fc00::1', '8.8.8.8', '0.0.0.0'].map(addressClass)).toEqual([
      'loopback', 'loopback', 'link-local', 'metadata', 'private', 'private', 'private', 'public', 'unspecified',
    ]);
  });
});

describe('ffmpeg protocol whitelist', () => {
  const args = (url: string) => cameraArgs(url, describeUrl(url), { fps: 2, width: 8, height: 8 });
  const whitelist = (url: string) => {
    const a = args(url);
    return a.includes('-protocol_whitelist') ? a[a.indexOf('-protocol_whitelist') + 1] : undefined;
  };
  it('limits each input to the protocols of its scheme, before -i', () => {
    expect(whitelist('rtsp://127.0.0.1/cam')).toBe('rtsp,rtp,tcp,udp');
    expect(whitelist('http://127.0.0.1/cam.mjpg')).toBe('http,tcp');
    expect(whitelist('/videos/clip.mp4')).toBe('file');
    expect(args('rtsp://127.0.0.1/cam').indexOf('-protocol_whitelist')).toBeLessThan(args('rtsp://127.0.0.1/cam').indexOf('-i'));
    expect(whitelist('v4l2:///dev/video0')).toBeUndefined(); // a device opens no protocol
  });
});

