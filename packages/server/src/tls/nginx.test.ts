/**
 * The documented nginx reverse proxy (docs/deploy/nginx.conf), run for real with Debian's nginx:
 * the file is read from the docs and only its ports, certificate paths and upstream are changed,
 * so what the docs tell operators to install is what is tested here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CallType } from '@ringline/protocol';
import { DEFAULTS } from '../config.js';
import { HSTS } from '../http/errors.js';
import { TestClient } from '../testing/client.js';
import { startTestServer, type TestServer } from '../testing/server.js';
import { makeTestCertificate, type TestCertificate } from '../testing/tls.js';

const NGINX = '/usr/sbin/nginx';
const DOCUMENTED = fileURLToPath(new URL('../../../../docs/deploy/nginx.conf', import.meta.url));

/** A free TCP port on loopback (closed again at once; nginx binds it right after). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `check` every 50 ms until it is true; fails after `timeoutMs`. */
async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  for (const end = Date.now() + timeoutMs; !(await check());) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Replaces `from` in `text`, failing if the documented file no longer has it. */
function substitute(text: string, from: string | RegExp, to: string): string {
  const count = text.split(from).length - 1;
  if (count === 0) throw new Error(`docs/deploy/nginx.conf no longer contains ${String(from)}`);
  return text.split(from).join(to);
}

interface Site {
  upstreamPort: number;
  httpsPort: number;
  httpPort: number;
  cert: TestCertificate;
  /** Replaces the /ws location's read/send timeouts (the short-timeout variant). */
  wsTimeout?: string;
}

/** The documented site, with this test's ports, certificate and upstream. */
function siteConfig(site: Site): string {
  let text = readFileSync(DOCUMENTED, 'utf8');
  text = substitute(text, 'server 127.0.0.1:8080;', `server 127.0.0.1:${site.upstreamPort};`);
  text = substitute(text, 'listen 443 ssl;', `listen 127.0.0.1:${site.httpsPort} ssl;`);
  text = substitute(text, 'listen [::]:443 ssl;', `listen [::1]:${site.httpsPort} ssl;`);
  text = substitute(text, 'listen 80;', `listen 127.0.0.1:${site.httpPort};`);
  text = substitute(text, 'listen [::]:80;', `listen [::1]:${site.httpPort};`);
  text = substitute(
    text,
    '/etc/letsencrypt/live/calls.example.com/fullchain.pem',
    site.cert.certFile,
  );
  text = substitute(text, '/etc/letsencrypt/live/calls.example.com/privkey.pem', site.cert.keyFile);
  if (site.wsTimeout) {
    text = substitute(text, 'proxy_read_timeout 120s;', `proxy_read_timeout ${site.wsTimeout};`);
    text = substitute(text, 'proxy_send_timeout 120s;', `proxy_send_timeout ${site.wsTimeout};`);
  }
  return text;
}

/** A running nginx, a child of this process. */
interface Nginx {
  readonly prefix: string;
  /** Stops nginx (SIGTERM, SIGKILL if it lingers), waits for it to exit, removes its files. */
  stop(): Promise<void>;
}

/** Starts nginx in the foreground with `site` inside a minimal main configuration. */
async function startNginx(site: string, httpsPort: number): Promise<Nginx> {
  const prefix = mkdtempSync(join(tmpdir(), 'ringline-nginx-'));
  writeFileSync(join(prefix, 'ringline.conf'), site);
  // Debian's build puts temp and log paths under /var; everything of this run stays in `prefix`.
  const main = `worker_processes 1;
events { worker_connections 64; }
http {
  access_log ${prefix}/access.log;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  include ${prefix}/ringline.conf;
}
`;
  writeFileSync(join(prefix, 'nginx.conf'), main);
  const pidFile = join(prefix, 'nginx.pid');
  const child: ChildProcess = spawn(
    NGINX,
    [
      '-c',
      join(prefix, 'nginx.conf'),
      '-p',
      prefix,
      '-e',
      join(prefix, 'error.log'),
      '-g',
      `daemon off; pid ${pidFile};`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stopping: Promise<void> | undefined;
  const nginx: Nginx = {
    prefix,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(prefix, { recursive: true, force: true });
      })()),
  };
  try {
    await waitFor(
      () =>
        child.exitCode !== null ||
        new Promise<boolean>((resolve) => {
          const s = tcpConnect(httpsPort, '127.0.0.1');
          s.once('connect', () => (s.destroy(), resolve(true)));
          s.once('error', () => resolve(false));
        }),
      'nginx to listen',
    );
    if (child.exitCode !== null) {
      const log = existsSync(join(prefix, 'error.log'))
        ? readFileSync(join(prefix, 'error.log'), 'utf8')
        : '';
      throw new Error(`nginx exited with ${child.exitCode}: ${stderr}${log}`);
    }
  } catch (err) {
    await nginx.stop();
    throw err;
  }
  return nginx;
}

/** A fresh HTTPS request through nginx: status, headers, body, the certificate nginx showed. */
function get(
  url: string,
  ca: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Record<string, unknown>;
  body: string;
  fingerprint: string;
}> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, timeout: 5_000, headers }, (res) => {
      const socket = res.socket as TLSSocket;
      const fingerprint = socket.getPeerCertificate?.().fingerprint256 ?? '';
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', reject);
    req.end();
  });
}

/** The directives of the committed file's `location = /ws` block, by name. */
function wsLocation(): Map<string, string[]> {
  const text = readFileSync(DOCUMENTED, 'utf8').replace(/#.*$/gm, '');
  const block = /location\s*=\s*\/ws\s*\{([^}]*)\}/.exec(text)?.[1];
  if (!block) throw new Error('docs/deploy/nginx.conf has no "location = /ws" block');
  const directives = new Map<string, string[]>();
  for (const statement of block.split(';')) {
    const [name, ...args] = statement.trim().split(/\s+/);
    if (name) directives.set(name + (name === 'proxy_set_header' ? ` ${args[0]}` : ''), args);
  }
  return directives;
}

/** nginx's time syntax (`120s`, `2m`, `90`) in seconds. */
function seconds(value: string | undefined): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value ?? '');
  if (!m) throw new Error(`not an nginx time: ${value}`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'] ?? 1;
  return Number(m[1]) * unit;
}

describe('the committed nginx configuration', () => {
  test('passes the WebSocket upgrade and keeps it open longer than Ringline needs', () => {
    const ws = wsLocation();
    expect(ws.get('proxy_http_version')).toEqual(['1.1']);
    expect(ws.get('proxy_set_header Upgrade')).toEqual(['Upgrade', '$http_upgrade']);
    expect(ws.get('proxy_set_header Connection')).toEqual(['Connection', '$connection_upgrade']);
    expect(ws.get('proxy_set_header X-Forwarded-For')).toEqual([
      'X-Forwarded-For',
      '$proxy_add_x_forwarded_for',
    ]);
    // Ringline drops a client silent for three ping intervals; nginx must not cut it first,
    // nor cut a live one between two pings (its default is 60 s).
    const needed = 3 * DEFAULTS.pingInterval;
    expect(seconds(ws.get('proxy_read_timeout')?.[0])).toBeGreaterThan(needed);
    expect(seconds(ws.get('proxy_send_timeout')?.[0])).toBeGreaterThan(needed);
  });
});

describe('Ringline behind nginx', () => {
  let cert: TestCertificate;
  let server: TestServer;
  let nginx: Nginx;
  let url: string;
  let httpUrl: string;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    cert = makeTestCertificate(['localhost', '127.0.0.1']);
    // Two connections per address: enough for one user, too few if nginx's address counted.
    server = await startTestServer({
      trustProxy: ['127.0.0.1'],
      limits: { maxConnectionsPerAddress: 2 },
    });
    const site: Site = {
      upstreamPort: server.port,
      httpsPort: await freePort(),
      httpPort: await freePort(),
      cert,
    };
    nginx = await startNginx(siteConfig(site), site.httpsPort);
    url = `https://127.0.0.1:${site.httpsPort}`;
    httpUrl = `http://127.0.0.1:${site.httpPort}`;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    const prefix = nginx?.prefix;
    await nginx?.stop();
    // Stopped for real: its pid file went with it.
    if (prefix) expect(existsSync(join(prefix, 'nginx.pid'))).toBe(false);
    await server?.close();
    cert?.remove();
  });

  /** Logs `userID` in over WSS through nginx, from the loopback address `from`. */
  async function login(userID: string, from: string): Promise<TestClient> {
    const client = await TestClient.login({ ...server, url }, userID, {
      ca: cert.cert,
      localAddress: from,
    });
    clients.push(client);
    return client;
  }

  test('pages come over HTTPS with the certificate, marked for HTTPS only', async () => {
    const res = await get(`${url}/healthz`, cert.cert);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ok: true });
    expect(res.fingerprint).toBe(new X509Certificate(cert.cert).fingerprint256);
    // Ringline believes nginx's X-Forwarded-Proto, so it sends HSTS as for direct TLS.
    expect(res.headers['strict-transport-security']).toBe(HSTS);
    // The dev-mode userSig endpoint's same-origin check sees the browser's Host, port and all.
    const sig = await get(`${url}/api/dev/usersig?userID=alice`, cert.cert, {
      origin: url,
      'sec-fetch-site': 'same-origin',
    });
    expect(sig.status).toBe(200);
  });

  test('does not pass /metrics to the internet; the node itself serves it', async () => {
    expect((await get(`${url}/metrics`, cert.cert)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
  });

  test('plain HTTP is redirected to HTTPS', async () => {
    const res = await get(`${httpUrl}/index.html?x=1`, cert.cert);
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('https://127.0.0.1/index.html?x=1');
  });

  test('two users log in over WSS and signal a call to each other', async () => {
    const alice = await login('alice', '127.0.0.2');
    const bob = await login('bob', '127.0.0.3');
    const invite = await alice.call('invite', { userIDList: ['bob'], callType: CallType.VIDEO });
    expect(await bob.waitForPush('invited')).toMatchObject({ callID: invite.callID });
    await bob.call('accept', { inviteID: invite.inviteID });
    expect(await alice.waitForPush('userEnter')).toMatchObject({ userID: 'bob' });
    const offer = { description: { type: 'offer' as const, sdp: 'v=0 offer' } };
    await alice.call('signal', { callID: invite.callID, to: 'bob', data: offer });
    expect(await bob.waitForPush('signal')).toMatchObject({ from: 'alice', data: offer });
    const answer = { description: { type: 'answer' as const, sdp: 'v=0 answer' } };
    await bob.call('signal', { callID: invite.callID, to: 'alice', data: answer });
    expect(await alice.waitForPush('signal')).toMatchObject({ from: 'bob', data: answer });
    await alice.call('hangup', { callID: invite.callID });
    expect(await bob.waitForPush('callEnded')).toMatchObject({ callID: invite.callID });
  });

  test('the per-address connection limit counts each client, not nginx', async () => {
    await login('carol', '127.0.0.4');
    await login('carol2', '127.0.0.4');
    // The third from the same client is refused…
    await expect(
      TestClient.connect(url, { ca: cert.cert, localAddress: '127.0.0.4' }),
    ).rejects.toThrow(/429/);
    // …while another client, through the same nginx, is not.
    await login('dave', '127.0.0.5');
  });
});

describe('a WebSocket through nginx with a short read timeout', () => {
  const TIMEOUT_S = 2;
  let cert: TestCertificate;
  let server: TestServer;
  let nginx: Nginx;
  let url: string;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    cert = makeTestCertificate(['127.0.0.1']);
    // The server's own silence limit (3 × 10 s) is far beyond nginx's, so only nginx can cut.
    server = await startTestServer({ trustProxy: ['127.0.0.1'], pingInterval: 10 });
    const site: Site = {
      upstreamPort: server.port,
      httpsPort: await freePort(),
      httpPort: await freePort(),
      cert,
      wsTimeout: `${TIMEOUT_S}s`,
    };
    nginx = await startNginx(siteConfig(site), site.httpsPort);
    url = `https://127.0.0.1:${site.httpsPort}`;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await nginx?.stop();
    await server?.close();
    cert?.remove();
  });

  test('stays open while the client pings, and is cut when it falls silent', async () => {
    const pinging = await TestClient.login({ ...server, url }, 'pinger', { ca: cert.cert });
    const silent = await TestClient.login({ ...server, url }, 'silent', { ca: cert.cert });
    clients.push(pinging, silent);
    let silentClosed = false;
    void silent.closed().then(() => (silentClosed = true));
    // Pings every 250 ms for three times nginx's timeout: each answer is traffic nginx reads.
    for (let i = 0; i < (TIMEOUT_S * 3 * 1000) / 250; i++) {
      await pinging.call('ping', {});
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(pinging.ws.readyState).toBe(pinging.ws.OPEN);
    expect(await pinging.call('ping', {})).toMatchObject({ time: expect.any(Number) });
    // The silent one was cut by nginx (the server would have waited 30 s).
    await waitFor(() => silentClosed, 'nginx to close the silent WebSocket', 8_000);
  });
});
