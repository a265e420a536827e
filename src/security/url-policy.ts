/**
 * Which camera URLs the control API accepts. The source registry already refuses schemes ffmpeg
 * should never see from a client (`concat:`, `subfile:`); this policy narrows further for cameras
 * added at runtime: a short list of schemes, no local files unless allowed, and no addresses that
 * turn the service into a tool against its own host or cloud (loopback, link-local, metadata).
 * Every refusal names the rule, so an operator knows which setting to change.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../errors.js';
import { redactUrl } from '../sources/redact.js';
import { describeUrl, schemeOf } from '../sources/registry.js';

export interface CameraUrlPolicy {
  /** Schemes the API may add cameras with (`file` also needs allowFileSources). */
  readonly allowedSchemes: readonly string[];
  readonly allowFileSources: boolean;
  /** CIDRs or addresses; when not empty, every address a camera host resolves to must be in one. */
  readonly allowHosts: readonly string[];
  readonly denyHosts: readonly string[];
  readonly allowLoopback: boolean;
  readonly allowLinkLocal: boolean;
  readonly allowPrivate: boolean;
}

export const DEFAULT_URL_POLICY: CameraUrlPolicy = {
  allowedSchemes: ['rtsp', 'rtsps', 'http', 'https', 'v4l2'],
  allowFileSources: false,
  allowHosts: [],
  denyHosts: [],
  allowLoopback: false,
  allowLinkLocal: false,
  allowPrivate: true,
};

/** A camera URL the policy refuses; `rule` is the setting or class of address that refused it. */
export class UrlPolicyError extends ConfigError {
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(`camera URL refused by rule "${rule}": ${message}`);
  }
}

export type AddressClass = 'unspecified' | 'loopback' | 'link-local' | 'metadata' | 'private' | 'public';

const subnets = (list: Array<[string, number]>): BlockList => {
  const b = new BlockList();
  for (const [net, prefix] of list) b.addSubnet(net, prefix, net.includes(':') ? 'ipv6' : 'ipv4');
  return b;
};
// Cloud instance-metadata endpoints (AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba, Azure wireserver).
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '168.63.129.16']);
const CLASSES: Array<[AddressClass, BlockList]> = [
  ['unspecified', subnets([['0.0.0.0', 8], ['::', 128]])],
  ['loopback', subnets([['127.0.0.0', 8], ['::1', 128]])],
  ['link-local', subnets([['169.254.0.0', 16], ['fe80::', 10]])],
  ['private', subnets([['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['fc00::', 7]])],
];

/** `::ffff:127.0.0.1` is 127.0.0.1: a mapped address must not slip past the IPv4 rules. */
function unmap(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m === null ? ip : m[1];
}

export function addressClass(address: string): AddressClass {
  const ip = unmap(address);
  if (METADATA.has(ip.toLowerCase())) return 'metadata';
  const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  return CLASSES.find(([, list]) => list.check(ip, type))?.[0] ?? 'public';
}

/** A list of CIDRs or addresses as a BlockList. @throws ConfigError naming the bad entry. */
export function cidrList(entries: readonly string[], setting: string): BlockList {
  const b = new BlockList();
  for (const e of entries) {
    const [net, prefix] = e.split('/');
    const v = isIP(net);
    const bits = prefix === undefined ? (v === 6 ? 128 : 32) : Number(prefix);
    if (v === 0 || !Number.isInteger(bits) || bits < 0 || bits > (v === 6 ? 128 : 32)) throw new ConfigError(`${setting}: "${e}" is not an address or CIDR`);
    b.addSubnet(net, bits, v === 6 ? 'ipv6' : 'ipv4');
  }
  return b;
}

/** Every address a host name stands for (an IP literal stands for itself). */
export type Resolve = (host: string) => Promise<string[]>;
const systemResolve: Resolve = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Refuses a URL the policy does not allow. @throws UrlPolicyError naming the rule.
 * A host name is resolved and every address checked; ffmpeg resolves it again when it connects, so
 * a name whose records change in between (DNS rebinding) is outside what this check can see:
 * prefer `allowHosts` with camera subnets where that matters.
 */
export async function checkCameraUrl(url: string, policy: CameraUrlPolicy, resolve: Resolve = systemResolve): Promise<void> {
  const scheme = schemeOf(url);
  const shown = redactUrl(url);
  if (scheme === 'file' && !policy.allowFileSources) throw new UrlPolicyError('allowFileSources', `${shown} reads a local file; cameras added through the API may not unless security.cameraUrls.allowFileSources is true`);
  if (scheme !== 'file' && !policy.allowedSchemes.includes(scheme)) throw new UrlPolicyError('allowedSchemes', `scheme "${scheme}:" is not in security.cameraUrls.allowedSchemes (${policy.allowedSchemes.join(', ')})`);
  const entry = describeUrl(url);
  entry.ffmpegInput(url); // the scheme's own syntax (v4l2 options)
  if (!entry.network) return;
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    throw new UrlPolicyError('url', `${shown} is not a valid URL`);
  }
  if (host === '') throw new UrlPolicyError('url', `${shown} names no host`);
  const addresses = isIP(host) !== 0 ? [host] : await resolveOrRefuse(host, resolve);
  for (const a of addresses) checkAddress(unmap(a), host, policy);
}

async function resolveOrRefuse(host: string, resolve: Resolve): Promise<string[]> {
  try {
    const all = await resolve(host);
    if (all.length > 0) return all;
  } catch {
    // Reported below: an unresolvable host is refused, not added to fail for ever.
  }
  throw new UrlPolicyError('resolve', `host "${host}" does not resolve`);
}

function checkAddress(ip: string, host: string, policy: CameraUrlPolicy): void {
  const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  const at = host === ip ? ip : `${host} (${ip})`;
  const cls = addressClass(ip);
  // Never a camera, whatever the lists say.
  if (cls === 'unspecified' || cls === 'metadata') throw new UrlPolicyError(cls, `${at} is a ${cls} address`);
  if (cidrList(policy.denyHosts, 'security.cameraUrls.denyHosts').check(ip, type)) throw new UrlPolicyError('denyHosts', `${at} is in security.cameraUrls.denyHosts`);
  if (policy.allowHosts.length > 0 && !cidrList(policy.allowHosts, 'security.cameraUrls.allowHosts').check(ip, type)) throw new UrlPolicyError('allowHosts', `${at} is not in security.cameraUrls.allowHosts`);
  const refused =
    cls === 'loopback' && !policy.allowLoopback ? 'allowLoopback'
    : cls === 'link-local' && !policy.allowLinkLocal ? 'allowLinkLocal'
    : cls === 'private' && !policy.allowPrivate ? 'allowPrivate'
    : undefined;
  if (refused !== undefined) throw new UrlPolicyError(refused, `${at} is a ${cls} address`);
}
