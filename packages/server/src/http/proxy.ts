/**
 * The client's address behind a reverse proxy (nginx): the per-address limits must count the real
 * client, not the proxy. X-Forwarded-For is believed only when the connection comes from a proxy
 * the operator named (`--trust-proxy`); anyone else could write any address into it.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../config.js';

/** The proxies whose X-Forwarded-For is believed. */
export class TrustedProxies {
  readonly #list = new BlockList();
  /** As given (addresses and CIDR ranges), for Fastify's `trustProxy`. */
  readonly entries: readonly string[];

  /** `entries`: IP addresses or CIDR ranges. Throws ConfigError naming a bad one. */
  constructor(entries: readonly string[]) {
    this.entries = [...entries];
    for (const entry of entries) {
      const [address = '', bits, ...rest] = entry.split('/');
      const family = isIP(address);
      const prefix = bits === undefined ? undefined : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      const max = family === 6 ? 128 : 32;
      if (family === 0 || rest.length > 0 || (prefix !== undefined && !(prefix <= max))) {
        throw new ConfigError(
          `--trust-proxy takes IP addresses or CIDR ranges (e.g. 127.0.0.1,10.0.0.0/8), got "${entry}"`,
        );
      }
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.#list.addAddress(address, type);
      else this.#list.addSubnet(address, prefix, type);
    }
  }

  /** True if `address` (as a socket reports it) is one of the trusted proxies. */
  has(address: string | undefined): boolean {
    if (!address) return false;
    const plain = unmapped(address);
    const family = isIP(plain);
    return family !== 0 && this.#list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The address of the client behind the proxies: X-Forwarded-For read from the right, past the
   * trusted proxies, when the connection comes from one; otherwise the socket's own peer.
   */
  clientAddress(req: IncomingMessage): string | undefined {
    let address = req.socket.remoteAddress;
    if (!this.has(address)) return address;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    // Each hop was appended by the proxy before it; stop at the first one not trusted.
    while (hops.length > 0 && this.has(address)) {
      const next = hops.pop() as string;
      if (isIP(unmapped(next)) === 0) break;
      address = next;
    }
    return address;
  }
}

/** `ADDR[,ADDR…]` (addresses or CIDR ranges), or `off`/empty for none. Throws ConfigError. */
export function parseTrustProxy(text: string): string[] {
  const t = text.trim();
  if (t === '' || t.toLowerCase() === 'off') return [];
  const entries = t.split(',').map((s) => s.trim());
  new TrustedProxies(entries);
  return entries;
}

/** `::ffff:1.2.3.4` (an IPv4 client on a dual-stack socket) as `1.2.3.4`. */
function unmapped(address: string): string {
  const a = address.toLowerCase();
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : address;
}
