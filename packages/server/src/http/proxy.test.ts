/**
 * `--trust-proxy`: behind nginx every connection comes from the proxy, so the per-address limits
 * must count the address the proxy forwards, and only a proxy the operator named may say it.
 */
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { SIGNAL_PATH } from '@ringline/protocol';
import { ConfigError, parseServeArgs } from '../config.js';
import { startTestServer, type TestServer } from '../testing/server.js';
import { parseTrustProxy, TrustedProxies } from './proxy.js';

/** A request as Node hands it over: the peer's address and the headers. */
function req(remoteAddress: string, forwardedFor?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
}

describe('TrustedProxies.clientAddress', () => {
  const proxies = new TrustedProxies(['127.0.0.1', '10.0.0.0/8', '::1']);

  test('believes X-Forwarded-For only from a trusted proxy', () => {
    expect(proxies.clientAddress(req('127.0.0.1', '203.0.113.7'))).toBe('203.0.113.7');
    expect(proxies.clientAddress(req('::ffff:127.0.0.1', '203.0.113.7'))).toBe('203.0.113.7');
    expect(proxies.clientAddress(req('::1', '2001:db8::1'))).toBe('2001:db8::1');
    // Anyone else's header is ignored: the peer is the client.
    expect(proxies.clientAddress(req('198.51.100.1', '203.0.113.7'))).toBe('198.51.100.1');
    // No header: the proxy itself.
    expect(proxies.clientAddress(req('127.0.0.1'))).toBe('127.0.0.1');
  });

  test('reads from the right, past trusted proxies, and stops at the first untrusted hop', () => {
    // A client that sends its own X-Forwarded-For cannot pick its address: nginx appends the
    // real one, and that is the one taken.
    expect(proxies.clientAddress(req('127.0.0.1', '1.1.1.1, 203.0.113.7'))).toBe('203.0.113.7');
    // A chain of trusted proxies (10.x) in front of the client.
    expect(proxies.clientAddress(req('127.0.0.1', '203.0.113.7, 10.1.2.3'))).toBe('203.0.113.7');
    expect(proxies.clientAddress(req('127.0.0.1', ['203.0.113.7', '10.1.2.3']))).toBe(
      '203.0.113.7',
    );
    // Garbage where an address belongs: the last hop that is known, the proxy.
    expect(proxies.clientAddress(req('127.0.0.1', 'unknown'))).toBe('127.0.0.1');
    expect(proxies.clientAddress(req('127.0.0.1', ' , '))).toBe('127.0.0.1');
  });
});

describe('--trust-proxy', () => {
  test('takes addresses and CIDR ranges, comma-separated; off or empty is none', () => {
    expect(parseTrustProxy('127.0.0.1, 10.0.0.0/8,::1,fd00::/8')).toEqual([
      '127.0.0.1',
      '10.0.0.0/8',
      '::1',
      'fd00::/8',
    ]);
    expect(parseTrustProxy('off')).toEqual([]);
    expect(parseServeArgs(['--trust-proxy', '127.0.0.1'], {}).trustProxy).toEqual(['127.0.0.1']);
    expect(parseServeArgs([], { RINGLINE_TRUST_PROXY: '10.0.0.0/8' }).trustProxy).toEqual([
      '10.0.0.0/8',
    ]);
    expect(parseServeArgs(['--trust-proxy', 'off'], {}).trustProxy).toBeUndefined();
    expect(parseServeArgs([], {}).trustProxy).toBeUndefined();
  });

  test.each(['localhost', '10.0.0.0/33', '::1/129', '1.2.3.4/8/1', '10.0.0.0/x', 'all'])(
    '"%s" is a ConfigError',
    (text) => {
      expect(() => parseTrustProxy(text)).toThrow(ConfigError);
      expect(() => parseTrustProxy(text)).toThrow(/--trust-proxy takes IP addresses or CIDR/);
    },
  );

  test('startServer refuses a bad trustProxy entry', async () => {
    await expect(startTestServer({ trustProxy: ['nginx'] })).rejects.toThrow(ConfigError);
  });
});

describe('per-address limits behind a proxy', () => {
  let server: TestServer | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await server?.close();
    server = undefined;
  });

  /** Opens a WebSocket as the proxy would, saying it is for `client`; the HTTP status if refused. */
  async function openFor(client: string): Promise<number> {
    const ws = new WebSocket(server!.url.replace(/^http/, 'ws') + SIGNAL_PATH, {
      headers: { 'x-forwarded-for': client },
    });
    sockets.push(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(101));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        ws.on('error', () => {});
        resolve(res.statusCode ?? 0);
      });
      ws.once('error', reject);
    });
  }

  test('with the proxy trusted, each forwarded client has its own allowance', async () => {
    server = await startTestServer({
      limits: { maxConnectionsPerAddress: 1 },
      trustProxy: ['127.0.0.1'],
    });
    expect(await openFor('203.0.113.1')).toBe(101);
    expect(await openFor('203.0.113.2')).toBe(101);
    expect(await openFor('203.0.113.1')).toBe(429);
  });

  test('without it, the header is ignored and every client counts as the proxy', async () => {
    server = await startTestServer({ limits: { maxConnectionsPerAddress: 1 } });
    expect(await openFor('203.0.113.1')).toBe(101);
    expect(await openFor('203.0.113.2')).toBe(429);
  });
});
