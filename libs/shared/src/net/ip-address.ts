import { isIPv4, isIPv6 } from 'node:net';

/**
 * Address classification for the SSRF guard: is this an address on the public internet? Anything private,
 * loopback, link-local, unique-local, CGNAT, multicast, unspecified, reserved for documentation or benchmarks,
 * or simply not allocated for global unicast, is not. IPv6 forms that carry an IPv4 address (mapped,
 * NAT64, 6to4) are judged by that address, so `::ffff:127.0.0.1` is loopback like `127.0.0.1`.
 */
export function isPublicAddress(ip: string): boolean {
  const address = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (isIPv4(address)) return isPublicIPv4(parseIPv4(address));
  const bytes = parseIPv6(address);
  return bytes !== null && isPublicIPv6(bytes);
}

/** "a.b.c.d" or an IPv6 literal, with or without brackets. */
export const isIpLiteral = (host: string): boolean => {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIPv4(h) || isIPv6(h);
};

type Cidr4 = readonly [number, number, number, number, number];

// IANA IPv4 special-purpose registry, plus multicast and the reserved class E.
const NON_PUBLIC_V4: readonly Cidr4[] = [
  [0, 0, 0, 0, 8], // "this network", incl. the unspecified 0.0.0.0
  [10, 0, 0, 0, 8], // private
  [100, 64, 0, 0, 10], // CGNAT shared address space
  [127, 0, 0, 0, 8], // loopback
  [169, 254, 0, 0, 16], // link-local (cloud metadata lives here)
  [172, 16, 0, 0, 12], // private
  [192, 0, 0, 0, 24], // IETF protocol assignments
  [192, 0, 2, 0, 24], // documentation
  [192, 88, 99, 0, 24], // 6to4 relay anycast
  [192, 168, 0, 0, 16], // private
  [198, 18, 0, 0, 15], // benchmarking
  [198, 51, 100, 0, 24], // documentation
  [203, 0, 113, 0, 24], // documentation
  [224, 0, 0, 0, 4], // multicast
  [240, 0, 0, 0, 4], // reserved, incl. broadcast 255.255.255.255
];

const toUint32 = (b: readonly number[]): number => ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;

function inV4(bytes: readonly number[], [a, b, c, d, bits]: Cidr4): boolean {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (toUint32(bytes) & mask) >>> 0 === (toUint32([a, b, c, d]) & mask) >>> 0;
}

function isPublicIPv4(bytes: readonly number[]): boolean {
  return !NON_PUBLIC_V4.some((cidr) => inV4(bytes, cidr));
}

function parseIPv4(s: string): number[] {
  return s.split('.').map(Number);
}

/** 16 bytes, or null when not an IPv6 literal. A zone id (`fe80::1%eth0`) is dropped. */
export function parseIPv6(input: string): number[] | null {
  const s = input.split('%')[0];
  if (!isIPv6(s)) return null;
  let head = s;
  let tailV4: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tailV4 = parseIPv4(s.slice(lastColon + 1));
    // "::1.2.3.4" and "1::1.2.3.4" keep their "::"; "::ffff:1.2.3.4" loses the colon before the v4 part.
    const withColon = s.slice(0, lastColon + 1);
    head = withColon.endsWith('::') ? withColon : s.slice(0, lastColon);
  }
  const groupsNeeded = tailV4.length ? 6 : 8;
  const [left, right] = head.includes('::') ? head.split('::') : [head, null];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const l = parse(left);
  const r = right === null ? [] : parse(right);
  const zeros = right === null ? 0 : groupsNeeded - l.length - r.length;
  const groups = [...l, ...new Array<number>(zeros).fill(0), ...r];
  if (groups.length !== groupsNeeded || groups.some((g) => Number.isNaN(g) || g < 0 || g > 0xffff)) return null;
  return [...groups.flatMap((g) => [g >> 8, g & 0xff]), ...tailV4];
}

const startsWith = (bytes: readonly number[], prefix: readonly number[], bits: number): boolean => {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const bit = 7 - (i & 7);
    if (((bytes[byte] >> bit) & 1) !== ((prefix[byte] >> bit) & 1)) return false;
  }
  return true;
};

const v6 = (hex: string): number[] => parseIPv6(hex)!;

// Forms whose meaning is the IPv4 address they carry in their last 32 bits (or bits 16–48 for 6to4).
const MAPPED = v6('::ffff:0:0'); // ::ffff:0:0/96
const NAT64 = v6('64:ff9b::'); // 64:ff9b::/96 well-known NAT64 prefix
const SIX_TO_FOUR = v6('2002::'); // 2002::/16

// Inside global unicast (2000::/3), still not public.
const NON_PUBLIC_GLOBAL_V6: readonly (readonly [number[], number])[] = [
  [v6('2001::'), 23], // IETF protocol assignments, incl. Teredo 2001::/32
  [v6('2001:db8::'), 32], // documentation
  [v6('3fff::'), 20], // documentation
];

function isPublicIPv6(bytes: readonly number[]): boolean {
  if (startsWith(bytes, MAPPED, 96) || startsWith(bytes, NAT64, 96)) return isPublicIPv4(bytes.slice(12));
  if (startsWith(bytes, SIX_TO_FOUR, 16)) return isPublicIPv4(bytes.slice(2, 6));
  // Only 2000::/3 is allocated for global unicast: this excludes ::, ::1, IPv4-compatible ::/96, 64:ff9b:1::/48,
  // discard 100::/64, unique-local fc00::/7, link-local fe80::/10, site-local fec0::/10 and multicast ff00::/8.
  if (!startsWith(bytes, v6('2000::'), 3)) return false;
  return !NON_PUBLIC_GLOBAL_V6.some(([prefix, bits]) => startsWith(bytes, prefix, bits));
}

/** A network of addresses: 4 bytes (IPv4) or 16 (IPv6) and a prefix length. */
export interface Network {
  readonly bytes: readonly number[];
  readonly bits: number;
}

/**
 * What `OUTBOUND_PRIVATE_NETWORKS` holds by default: the private and loopback ranges of SPEC §7 ("any address in a
 * private or loopback range is refused unless its host is in allowHttpHosts"), and no other non-public range: not
 * link-local (169.254.0.0/16, where cloud metadata services answer), multicast or reserved.
 */
export const DEFAULT_PRIVATE_NETWORKS = '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,127.0.0.0/8,fc00::/7,::1/128';

/** `a.b.c.d/n` and `v6/n` networks, comma-separated, or `none`; throws naming the first that is not one. */
export function parseNetworks(spec: string): Network[] {
  if (spec.trim() === 'none') return [];
  return spec.split(',').map((raw) => {
    const item = raw.trim();
    const [address, bitsText, extra] = item.split('/');
    const bits = Number(bitsText);
    const bytes = isIPv4(address) ? parseIPv4(address) : parseIPv6(address);
    if (extra !== undefined || !bytes || !/^\d{1,3}$/.test(bitsText ?? '') || bits > bytes.length * 8) {
      throw new Error(`${JSON.stringify(item)} is not a network like 10.0.0.0/8 or fc00::/7`);
    }
    return { bytes, bits };
  });
}

/** Whether the address is in one of the networks; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as its IPv4. */
export function inNetworks(ip: string, networks: readonly Network[]): boolean {
  const address = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  let bytes: readonly number[] | null = isIPv4(address) ? parseIPv4(address) : parseIPv6(address);
  if (!bytes) return false;
  if (bytes.length === 16 && startsWith(bytes, MAPPED, 96)) bytes = bytes.slice(12);
  const b = bytes;
  return networks.some((n) => n.bytes.length === b.length && startsWith(b, n.bytes, n.bits));
}
