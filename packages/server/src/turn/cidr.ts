/**
 * CIDR blocks for coturn's peer filters. coturn takes `ip` or `ip-ip` ranges there, not CIDR, so
 * blocks are written as their first and last address.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  /** As given, normalised: `10.0.0.0/8`. */
  text: string;
  /** `10.0.0.0-10.255.255.255`: the form coturn's `allowed-peer-ip`/`denied-peer-ip` take. */
  range: string;
}

/** Parses `a.b.c.d/n`, `v6/n` or a single address (a /32 or /128). Throws Error with a reason. */
export function parseCidr(text: string): Cidr {
  const t = text.trim();
  const slash = t.indexOf('/');
  const address = slash < 0 ? t : t.slice(0, slash);
  const v4 = isIPv4(address);
  if (!v4 && !isIPv6(address)) throw new Error(`"${text}" is not an IP address or CIDR block`);
  const bits = v4 ? 32 : 128;
  const prefixText = slash < 0 ? String(bits) : t.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) {
    throw new Error(`"${text}" has a bad prefix length (0 to ${bits})`);
  }
  const value = v4 ? ipv4ToBig(address) : ipv6ToBig(address);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  const first = value & ~hostMask & ((1n << BigInt(bits)) - 1n);
  const last = first | hostMask;
  const show = v4 ? bigToIpv4 : bigToIpv6;
  return { text: `${show(first)}/${prefix}`, range: `${show(first)}-${show(last)}` };
}

/** Parses a comma-separated list of CIDR blocks. Throws Error naming the bad one. */
export function parseCidrList(text: string): Cidr[] {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error('expected one or more CIDR blocks, got none');
  return parts.map(parseCidr);
}

function ipv4ToBig(address: string): bigint {
  return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function bigToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
}

function ipv6ToBig(address: string): bigint {
  let text = address;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToBig(v4[1]!);
    text = `${text.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(fill).fill('0'), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function bigToIpv6(value: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(':');
}
