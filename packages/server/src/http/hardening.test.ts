/**
 * The HTTP side against hostile or careless clients: slow clients are cut off by the timeouts
 * while others are served, every answer carries the security headers and a coded error body that
 * echoes nothing of the request, and dev mode keeps its userSig minting to itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ServerErrorCode } from '@ringline/protocol';
import { genUserSig } from '../auth/usersig.js';
import type { Logger } from '../log.js';
import { startServer, type RinglineServer } from '../server.js';
import { startTestServer, type TestServer } from '../testing/server.js';

let server: TestServer | undefined;
const sockets: Socket[] = [];
const toClose: RinglineServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
  for (const s of toClose.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Polls `check` every 50 ms until it is true; fails after `timeoutMs`. */
async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !check();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A raw TCP client that keeps what it receives and knows when the server closed it. */
async function rawClient(
  url: string,
): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  sockets.push(socket);
  let data = '';
  let closed = false;
  socket.on('data', (d) => (data += d.toString()));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed: () => closed };
}

/**
 * Writes `chunk` every `everyMs` until the socket closes (at most `max` times): a slowloris.
 * Resolves with how many chunks went out.
 */
async function trickle(
  client: { socket: Socket; closed: () => boolean },
  chunk: string,
  everyMs = 100,
  max = 300,
): Promise<number> {
  let sent = 0;
  while (!client.closed() && sent < max) {
    client.socket.write(chunk);
    sent++;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return sent;
}

/** The JSON body of a raw HTTP response. */
function rawBody(response: string): unknown {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
}

const adminSig = (s: { sdkAppID: number; secretKey: string }) =>
  genUserSig({ sdkAppID: s.sdkAppID, secretKey: s.secretKey, userID: 'administrator' });

describe('HTTP timeouts', () => {
  const timeouts = { request: 2, headers: 1, keepAlive: 1, idle: 5 };

  test('headers that trickle in are cut off with 408 REQUEST_TIMEOUT while others are served', async () => {
    server = await startTestServer({ httpTimeouts: timeouts });
    const alice = await server.login('alice');
    const slow = await rawClient(server.url);
    slow.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const trickling = trickle(slow, 'X-Slow: 1\r\n');
    // Served meanwhile: plain HTTP, and the signalling socket.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await alice.sync();
    await waitFor(slow.closed, 'the server to close the trickling connection');
    await trickling;
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(rawBody(slow.received())).toEqual({
      error: {
        code: ServerErrorCode.REQUEST_TIMEOUT,
        name: 'REQUEST_TIMEOUT',
        message: expect.any(String),
      },
    });
  });

  test('a body that trickles in is cut off with 408 while others are served', async () => {
    server = await startTestServer({ httpTimeouts: timeouts });
    const alice = await server.login('alice');
    const slow = await rawClient(server.url);
    slow.socket.write(
      'POST /api/admin/groups HTTP/1.1\r\nHost: x\r\n' +
        `Authorization: Bearer ${adminSig(server)}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"groupID":"g"',
    );
    const trickling = trickle(slow, ' ');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await waitFor(slow.closed, 'the server to close the trickling connection');
    await trickling;
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(rawBody(slow.received())).toMatchObject({ error: { name: 'REQUEST_TIMEOUT' } });
    // A WebSocket is not an HTTP request: opened before the slow request, it outlives the
    // request timeout that ended it.
    await alice.sync();
    expect(alice.ws.readyState).toBe(alice.ws.OPEN);
  });

  test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    server = await startTestServer({ httpTimeouts: timeouts });
    const idle = await rawClient(server.url);
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => idle.received().includes('{"ok":true}'), 'the response');
    await waitFor(idle.closed, 'the server to close the idle connection');
  });

  test('startServer refuses a headers timeout above the request timeout', async () => {
    await expect(startTestServer({ httpTimeouts: { request: 5, headers: 10 } })).rejects.toThrow(
      /headers timeout \(10 s\) must be from 1 to the request timeout \(5 s\)/,
    );
  });
});

describe('HTTP security headers', () => {
  const expectSecurityHeaders = (headers: Headers) => {
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('referrer-policy')).toBe('no-referrer');
    expect(headers.get('x-frame-options')).toBe('DENY');
    expect(headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
    // Plain HTTP: no HSTS (it would pin a dev server to a TLS it does not have).
    expect(headers.get('strict-transport-security')).toBeNull();
  };

  test('are on every answer: success, errors, 404s, admin refusals, the SDK bundles', async () => {
    server = await startTestServer();
    for (const path of [
      '/healthz',
      '/nope',
      '/api/admin/groups',
      '/api/dev/usersig?userID=alice',
      '/sdk/trtc-calling.js',
    ]) {
      const res = await fetch(`${server.url}${path}`);
      await res.arrayBuffer();
      expectSecurityHeaders(res.headers);
    }
  });

  test('the SDK bundles stay loadable from any origin', async () => {
    server = await startTestServer();
    const res = await fetch(`${server.url}/sdk/trtc-calling.js`, {
      headers: { origin: 'https://app.example' },
    });
    await res.arrayBuffer();
    // Built or not (404 hint), the bundle answer is the same for CORS.
    if (res.status === 200) expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cross-origin-resource-policy')).toBeNull();
  });
});

describe('HTTP error bodies', () => {
  /** Any request, raw (so that paths fetch would normalise get through). */
  function raw(
    url: string,
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: hostname, port, method, path, headers }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  test('have the {error:{code,name,message}} shape and never echo the URL or its userSig', async () => {
    const logs: unknown[] = [];
    const record = (level: string) => (msg: string, fields?: object) =>
      logs.push({ level, msg, fields });
    const logger: Logger = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    server = await startTestServer({ logger });
    const sig = adminSig(server);
    const auth = `sdkappid=${server.sdkAppID}&identifier=administrator&usersig=${sig}`;
    const json = { 'content-type': 'application/json' };
    const cases: [string, string, Record<string, string>, string | undefined, number, string][] = [
      ['GET', `/nope?${auth}`, {}, undefined, 404, 'NOT_FOUND'],
      ['DELETE', `/healthz?${auth}`, {}, undefined, 404, 'NOT_FOUND'],
      ['GET', `/api/dev/nope?${auth}`, {}, undefined, 404, 'NOT_FOUND'],
      ['GET', `/%zz?${auth}`, {}, undefined, 400, 'MALFORMED_MESSAGE'],
      ['POST', `/api/admin/groups?${auth}`, json, `{"groupID":"${sig}`, 400, 'MALFORMED_MESSAGE'],
      ['POST', `/api/admin/groups?${auth}`, json, '', 400, 'MALFORMED_MESSAGE'],
      [
        'POST',
        `/api/admin/groups?${auth}`,
        { 'content-type': 'text/plain' },
        '{"groupID":"g"}',
        415,
        'MALFORMED_MESSAGE',
      ],
      [
        'POST',
        `/api/admin/groups?${auth}`,
        { 'content-type': 'application/xml' },
        '<g/>',
        415,
        'MALFORMED_MESSAGE',
      ],
      [
        'POST',
        `/api/admin/groups?${auth}`,
        json,
        JSON.stringify({ groupID: 'x'.repeat(600_000) }),
        413,
        'FRAME_TOO_LARGE',
      ],
      [
        'GET',
        `/api/admin/groups?${auth}`.replace(sig, 'forged'),
        {},
        undefined,
        401,
        'ADMIN_UNAUTHORIZED',
      ],
      ['GET', `/api/admin/groups/missing?${auth}`, {}, undefined, 404, 'GROUP_NOT_FOUND'],
    ];
    for (const [method, path, headers, body, status, name] of cases) {
      const res = await raw(server.url, method, path, headers, body);
      const what = `${method} ${path.slice(0, 40)} ${headers['content-type'] ?? ''}`;
      expect(res.status, what).toBe(status);
      expect(JSON.parse(res.text), what).toEqual({
        error: {
          code: ServerErrorCode[name as keyof typeof ServerErrorCode],
          name,
          message: expect.any(String),
        },
      });
      expect(res.text, what).not.toContain(sig.slice(0, 20));
      expect(res.text, what).not.toContain('nope');
    }
    // What Node's parser refuses before any route: not HTTP, and headers too large.
    for (const [request, status, name] of [
      ['HELLO\r\n\r\n', 400, 'MALFORMED_MESSAGE'],
      [
        `GET /?usersig=${sig} HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
        'FRAME_TOO_LARGE',
      ],
    ] as const) {
      const client = await rawClient(server.url);
      client.socket.write(request);
      await waitFor(client.closed, 'the server to close the connection');
      expect(client.received()).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(rawBody(client.received())).toMatchObject({
        error: { code: ServerErrorCode[name], name },
      });
      expect(client.received()).not.toContain(sig.slice(0, 20));
    }
    // Successful admin requests log too; no log line carries the userSig.
    expect(
      (await raw(server.url, 'POST', `/api/admin/groups?${auth}`, json, '{"groupID":"g"}')).status,
    ).toBe(201);
    expect(logs.length).toBeGreaterThan(0);
    expect(JSON.stringify(logs)).not.toContain(sig.slice(0, 20));
  });
});

describe('dev mode', () => {
  test('listens on loopback unless a host is given', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ringline-dev-'));
    dirs.push(dataDir);
    const dev = await startServer({ dev: true, port: 0, dataDir });
    toClose.push(dev);
    expect(new URL(dev.url).hostname).toBe('127.0.0.1');
  });

  test('never mints a userSig for administrator (403 RESERVED_USER_ID)', async () => {
    server = await startTestServer({ dev: true });
    const res = await fetch(`${server.url}/api/dev/usersig?userID=administrator`);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      error: { code: ServerErrorCode.RESERVED_USER_ID, name: 'RESERVED_USER_ID' },
    });
  });

  test('mints only for pages of its own origin, with no CORS', async () => {
    server = await startTestServer({ dev: true });
    const url = `${server.url}/api/dev/usersig?userID=alice`;
    const own = await fetch(url, { headers: { origin: server.url } });
    expect(own.status).toBe(200);
    expect(own.headers.get('access-control-allow-origin')).toBeNull();
    await own.arrayBuffer();
    for (const headers of <Record<string, string>[]>[
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ]) {
      const res = await fetch(url, { headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(await res.json()).toMatchObject({
        error: { code: ServerErrorCode.CROSS_ORIGIN_REFUSED, name: 'CROSS_ORIGIN_REFUSED' },
      });
    }
  });

  test('a signalling login as administrator is refused with RESERVED_USER_ID', async () => {
    server = await startTestServer({ dev: true });
    const client = await server.connect();
    const { sdkAppID, secretKey } = server;
    const error = await client.fail('login', {
      sdkAppID,
      userID: 'administrator',
      userSig: genUserSig({ sdkAppID, secretKey, userID: 'administrator' }),
    });
    expect(error).toMatchObject({ code: ServerErrorCode.RESERVED_USER_ID });
    await client.sync().catch(() => {});
  });
});
