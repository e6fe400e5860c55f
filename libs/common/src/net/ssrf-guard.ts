import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * SSRF guard for webhook URLs. A URL is refused when its host is, or resolves to, an address that
 * is not publicly routable (loopback, private, CGNAT, link-local incl. cloud metadata, ULA,
 * multicast, reserved, documentation…; IPv6 forms that carry an IPv4 address — mapped, NAT64, 6to4,
 * Teredo — are judged by that address), unless the URL's host is listed in WEBHOOK_ALLOWED_HOSTS
 * (an exact host name, or an IP / CIDR range containing the URL's IP literal).
 */

type Range = { family: 4 | 6; base: bigint; bits: number; label: string };

const IPV4_RANGES: Array<[string, string]> = [
  ['0.0.0.0/8', 'this-network'],
  ['10.0.0.0/8', 'private (RFC 1918)'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local / cloud metadata'],
  ['172.16.0.0/12', 'private (RFC 1918)'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private (RFC 1918)'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
];
const IPV6_RANGES: Array<[string, string]> = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['100::/64', 'discard-only'],
  ['2001:db8::/32', 'documentation'],
  ['fc00::/7', 'unique local (ULA)'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local (deprecated)'],
  ['ff00::/8', 'multicast'],
];
const low32 = (value: bigint) => value & 0xffffffffn;
/**
 * IPv6 prefixes that embed IPv4 addresses (a relay or translator forwards to them): judged by every
 * address they embed.
 */
const IPV6_EMBEDDING_IPV4: Array<[string, (value: bigint) => bigint[]]> = [
  ['::ffff:0:0/96', (v) => [low32(v)]], // IPv4-mapped
  ['::/96', (v) => [low32(v)]], // IPv4-compatible (deprecated)
  ['64:ff9b::/96', (v) => [low32(v)]], // NAT64
  ['64:ff9b:1::/48', (v) => [low32(v)]], // local-use NAT64
  ['2002::/16', (v) => [low32(v >> 80n)]], // 6to4: 2002:AABB:CCDD::/48
  // Teredo: the server in bits 32-63, the client obfuscated (inverted) in the last 32 bits.
  ['2001::/32', (v) => [low32(v >> 64n), low32(~v)]],
];

export function parseIPv4(address: string): bigint | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

export function parseIPv6(input: string): bigint | undefined {
  let address = input
    .replace(/^\[|\]$/g, '')
    .split('%')[0]
    .toLowerCase();
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hextets.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    const v4 = parseIPv4(dotted[2]);
    if (v4 === undefined) return undefined;
    address = `${dotted[1]}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}

function parseCidr(cidr: string, label = ''): Range | undefined {
  const [address, bitsText] = cidr.split('/');
  const family = isIP(address);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return undefined;
  const value = family === 4 ? parseIPv4(address) : parseIPv6(address);
  if (value === undefined) return undefined;
  return { family: family as 4 | 6, base: value >> BigInt(max - bits), bits, label };
}

function inRange(range: Range, family: 4 | 6, value: bigint): boolean {
  if (range.family !== family) return false;
  const max = family === 4 ? 32 : 128;
  return value >> BigInt(max - range.bits) === range.base;
}

const V4 = IPV4_RANGES.map(([cidr, label]) => parseCidr(cidr, label)!);
const V6 = IPV6_RANGES.map(([cidr, label]) => parseCidr(cidr, label)!);
const V6_EMBEDDED = IPV6_EMBEDDING_IPV4.map(
  ([cidr, embedded]) => [parseCidr(cidr)!, embedded] as const,
);

/** Why an IP address must not be called, or undefined when it is publicly routable. */
export function forbiddenReason(ip: string): string | undefined {
  const family = isIP(ip.replace(/^\[|\]$/g, '').split('%')[0]);
  if (family === 4) {
    const value = parseIPv4(ip)!;
    if (value === 0xffffffffn) return 'broadcast';
    return V4.find((r) => inRange(r, 4, value))?.label;
  }
  if (family === 6) {
    const value = parseIPv6(ip);
    if (value === undefined) return 'unparseable address';
    for (const [range, embedded] of V6_EMBEDDED) {
      // ::/96 also holds :: and ::1, which the plain IPv6 table names better.
      if (!inRange(range, 6, value) || value <= 1n) continue;
      for (const ipv4 of embedded(value)) {
        const reason = forbiddenReason(ipv4FromBits(ipv4));
        if (reason) return reason;
      }
      return undefined;
    }
    return V6.find((r) => inRange(r, 6, value))?.label;
  }
  return 'not an IP address';
}

function ipv4FromBits(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => Number((value >> shift) & 0xffn)).join('.');
}

const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

const allowListEntries = (raw: string | undefined) =>
  (raw ?? '')
    .split(',')
    .map((e) =>
      e
        .trim()
        .toLowerCase()
        .replace(/^\[|\]$/g, ''),
    )
    .filter(Boolean);

/** The entries of an allow list that are neither a host name, an IP nor a CIDR range. */
export function invalidAllowListEntries(raw: string | undefined): string[] {
  return allowListEntries(raw).filter((entry) => {
    if (entry.includes('/')) return parseCidr(entry) === undefined;
    return !isIP(entry) && !HOST_NAME.test(entry.replace(/\.$/, ''));
  });
}

/** e.g. WEBHOOK_ALLOWED_HOSTS: comma-separated host names, IPs or CIDR ranges exempt from the guard. */
export class AllowList {
  private readonly hosts = new Set<string>();
  private readonly ranges: Range[] = [];

  constructor(
    raw: string | undefined,
    /** The setting that fills this list, named in refusals. */
    readonly settingName = 'WEBHOOK_ALLOWED_HOSTS',
  ) {
    for (const entry of allowListEntries(raw)) {
      const range = isIP(entry.split('/')[0]) ? parseCidr(entry) : undefined;
      if (range) this.ranges.push(range);
      else this.hosts.add(entry.replace(/\.$/, ''));
    }
  }

  hasHost(hostname: string): boolean {
    return this.hosts.has(normalizeHost(hostname));
  }

  hasAddress(ip: string): boolean {
    const bare = normalizeHost(ip);
    const family = isIP(bare);
    if (family === 0) return false;
    const value = family === 4 ? parseIPv4(bare) : parseIPv6(bare);
    return value !== undefined && this.ranges.some((r) => inRange(r, family as 4 | 6, value));
  }
}

const normalizeHost = (hostname: string) =>
  hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family as 4 | 6,
  }));

export class UrlNotAllowedError extends Error {
  constructor(
    message: string,
    readonly reason: 'protocol' | 'invalid' | 'forbidden_address' | 'unresolvable',
  ) {
    super(message);
  }
}

/**
 * Resolves `rawUrl`'s host and checks every address. Returns the addresses to connect to (all of
 * them allowed; empty when the host name itself is allow-listed, i.e. connect as usual); throws
 * UrlNotAllowedError with a message naming the refused address.
 */
export async function resolveAllowedTarget(
  rawUrl: string,
  allow: AllowList,
  resolve: Resolver = systemResolver,
): Promise<ResolvedAddress[]> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UrlNotAllowedError('url must be an absolute http:// or https:// URL', 'invalid');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UrlNotAllowedError(
      `url must use http or https (got ${url.protocol.replace(/:$/, '')})`,
      'protocol',
    );
  }
  const host = normalizeHost(url.hostname);
  if (!host) throw new UrlNotAllowedError('url has no host', 'invalid');
  const literal = isIP(host);
  if (literal) {
    const addresses = [{ address: host, family: literal as 4 | 6 }];
    if (allow.hasAddress(host)) return addresses;
    assertRoutable(host, host, allow.settingName);
    return addresses;
  }
  if (allow.hasHost(host)) return []; // exempt by name: no address checks, the system resolver connects
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolve(host);
  } catch {
    throw new UrlNotAllowedError(`The host ${host} could not be resolved`, 'unresolvable');
  }
  if (addresses.length === 0)
    throw new UrlNotAllowedError(`The host ${host} could not be resolved`, 'unresolvable');
  // Resolved addresses are judged strictly: an allow-listed IP exempts URLs naming that IP, not
  // every name that happens to resolve to it (list the name for that).
  for (const { address } of addresses) assertRoutable(host, address, allow.settingName);
  return addresses;
}

function assertRoutable(host: string, address: string, settingName: string): void {
  const reason = forbiddenReason(address);
  if (!reason) return;
  const literal = host === address;
  const target = literal ? `${host} is` : `The host ${host} resolves to ${address},`;
  // An IP listed exempts only URLs naming that IP; a name must be listed itself.
  const advice = literal
    ? `List the IP (or a range holding it) in ${settingName} to allow it.`
    : `List the host name ${host} in ${settingName} to allow it.`;
  throw new UrlNotAllowedError(
    `${target} a ${reason} address; the gateway does not call loopback, private, ` +
      `link-local or reserved addresses. ${advice}`,
    'forbidden_address',
  );
}
