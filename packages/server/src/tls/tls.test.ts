/**
 * The server speaking TLS itself (`--tls-cert --tls-key`): pages over HTTPS and signalling over WSS
 * on one port with the same routes and timeouts as plain HTTP, plain HTTP not served there, the
 * certificate swapped on reload (SIGHUP) without dropping live sessions, bad files refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connect as tcpConnect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { CallType, ServerErrorCode } from '@ringline/protocol';
import { main } from '../cli.js';
import { ConfigError, parseServeArgs } from '../config.js';
import type { Logger } from '../log.js';
import { TestClient } from '../testing/client.js';
import { startTestServer, type TestServer } from '../testing/server.js';
import { makeTestCertificate, type TestCertificate } from '../testing/tls.js';

const certs: TestCertificate[] = [];
const dirs: string[] = [];
const sockets: Socket[] = [];
const children: ChildProcess[] = [];
let server: TestServer | undefined;
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await server?.close();
  server = undefined;
  for (const c of certs.splice(0)) c.remove();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function certificate(): TestCertificate {
  const cert = makeTestCertificate(['localhost', '127.0.0.1']);
  certs.push(cert);
  return cert;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringline-tls-test-'));
  dirs.push(dir);
  return dir;
}

/** Copies `cert`'s files to fixed paths in a folder, as certbot's live/ folder would hold them. */
function install(cert: TestCertificate, dir: string): { certFile: string; keyFile: string } {
  const files = { certFile: join(dir, 'fullchain.pem'), keyFile: join(dir, 'privkey.pem') };
  copyFileSync(cert.certFile, files.certFile);
  copyFileSync(cert.keyFile, files.keyFile);
  return files;
}

/** A fresh HTTPS connection (no agent, no session reuse): status, body, headers, peer cert. */
function httpsGet(
  url: string,
  ca: string | string[],
): Promise<{
  status: number;
  body: string;
  headers: Record<string, unknown>;
  fingerprint: string;
}> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, agent: false, timeout: 5_000 }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers, fingerprint }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `check` every 50 ms until it is true; fails after `timeoutMs`. */
async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) {
  for (const end = Date.now() + timeoutMs; !(await check());) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A logger that keeps what it is given. */
function recordingLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The SHA-256 fingerprint Node reports for a peer with `cert`. */
const fingerprintOf = (cert: TestCertificate): string =>
  new X509Certificate(cert.cert).fingerprint256;

describe('HTTPS and WSS on one port', () => {
  test('pages are served over HTTPS with the certificate, and the URL says https', async () => {
    const cert = certificate();
    server = await startTestServer({ tls: { certFile: cert.certFile, keyFile: cert.keyFile } });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpsGet(`${server.url}/healthz`, cert.cert);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ok: true });
    expect(res.fingerprint).toBe(fingerprintOf(cert));
    // Served over HTTPS, pages tell browsers to stay on it.
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    // The same routes as plain HTTP: a 404 is the coded body.
    const missing = await httpsGet(`${server.url}/nope`, cert.cert);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ error: { name: 'NOT_FOUND' } });
  });

  test('two users log in over WSS and a call is signalled between them', async () => {
    const cert = certificate();
    server = await startTestServer({ tls: { certFile: cert.certFile, keyFile: cert.keyFile } });
    const alice = await TestClient.login(server, 'alice', { ca: cert.cert });
    const bob = await TestClient.login(server, 'bob', { ca: cert.cert });
    try {
      expect(alice.ws.url).toMatch(/^wss:\/\//);
      const invite = await alice.call('invite', { userIDList: ['bob'], callType: CallType.VIDEO });
      expect(await bob.waitForPush('invited')).toMatchObject({ callID: invite.callID });
      await bob.call('accept', { inviteID: invite.inviteID });
      const offer = { description: { type: 'offer' as const, sdp: 'v=0 offer' } };
      await alice.call('signal', { callID: invite.callID, to: 'bob', data: offer });
      expect(await bob.waitForPush('signal')).toMatchObject({ from: 'alice', data: offer });
      await bob.call('hangup', { callID: invite.callID });
      expect(await alice.waitForPush('callEnded')).toMatchObject({ callID: invite.callID });
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });

  test('a client that does not trust the certificate cannot connect', async () => {
    const cert = certificate();
    const other = certificate();
    server = await startTestServer({ tls: { certFile: cert.certFile, keyFile: cert.keyFile } });
    await expect(httpsGet(`${server.url}/healthz`, other.cert)).rejects.toThrow(/self[- ]signed/i);
    await expect(TestClient.connect(server.url, { ca: other.cert })).rejects.toThrow(
      /self[- ]signed/i,
    );
  });

  test('plain HTTP on the TLS port gets no HTTP answer, and HTTPS is served meanwhile', async () => {
    const cert = certificate();
    server = await startTestServer({ tls: { certFile: cert.certFile, keyFile: cert.keyFile } });
    const plainUrl = server.url.replace(/^https/, 'http');
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(`${plainUrl}/healthz`, { agent: false, timeout: 5_000 }, (res) =>
        resolve(`answered ${res.statusCode}`),
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
      req.end();
    });
    expect(outcome).toMatch(/^error (ECONNRESET|EPIPE|HPE_INVALID_CONSTANT|ERR_)/);
    // Nor is a plain ws:// upgrade taken.
    await expect(TestClient.connect(plainUrl)).rejects.toThrow();
    expect((await httpsGet(`${server.url}/healthz`, cert.cert)).status).toBe(200);
    expect(server.edgeStats().connections).toBe(0);
  });

  test('the HTTP timeouts hold over TLS: a handshake that never comes and trickled headers are cut off', async () => {
    const cert = certificate();
    server = await startTestServer({
      tls: { certFile: cert.certFile, keyFile: cert.keyFile },
      // The idle timeout is beyond the wait below, so it cannot be what closes the silent one.
      httpTimeouts: { request: 2, headers: 1, keepAlive: 1, idle: 60 },
    });
    const { hostname, port } = new URL(server.url);
    // Connected, then silent: Node's own handshake timeout would keep it 120 s.
    const silent = tcpConnect(Number(port), hostname);
    sockets.push(silent);
    let silentClosed = false;
    silent.on('close', () => (silentClosed = true));
    silent.on('error', () => {});

    const slow = tlsConnect({
      host: hostname,
      port: Number(port),
      ca: cert.cert,
      servername: 'localhost',
    });
    sockets.push(slow);
    let received = '';
    let slowClosed = false;
    slow.on('data', (d: Buffer) => (received += d.toString()));
    slow.on('close', () => (slowClosed = true));
    slow.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      slow.once('secureConnect', resolve);
      slow.once('error', reject);
    });
    slow.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const trickling = (async () => {
      for (let i = 0; i < 300 && !slowClosed; i++) {
        slow.write('X-Slow: 1\r\n');
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    expect((await httpsGet(`${server.url}/healthz`, cert.cert)).status).toBe(200);
    await waitFor(() => slowClosed, 'the server to close the trickling TLS connection');
    await trickling;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received).toContain(`"code":${ServerErrorCode.REQUEST_TIMEOUT}`);
    await waitFor(
      () => silentClosed,
      'the server to close the connection without a handshake',
      10_000,
    );
  });
});

describe('reloading the certificate', () => {
  test('new connections get the new certificate; an open WSS session keeps going', async () => {
    const first = certificate();
    const second = certificate();
    const files = install(first, tempDir());
    server = await startTestServer({ tls: files });
    const both = [first.cert, second.cert];
    const alice = await TestClient.login(server, 'alice', { ca: both });
    try {
      expect((await httpsGet(`${server.url}/healthz`, both)).fingerprint).toBe(
        fingerprintOf(first),
      );

      install(second, join(files.certFile, '..'));
      await server.reloadTls();

      const after = await httpsGet(`${server.url}/healthz`, both);
      expect(after.fingerprint).toBe(fingerprintOf(second));
      // A client that knows only the new certificate can now log in, and a call flows between
      // it and the session opened under the old certificate, on its original connection.
      const bob = await TestClient.login(server, 'bob', { ca: second.cert });
      try {
        const invite = await alice.call('invite', {
          userIDList: ['bob'],
          callType: CallType.AUDIO,
        });
        expect(await bob.waitForPush('invited')).toMatchObject({ callID: invite.callID });
        await bob.call('reject', { inviteID: invite.inviteID });
        expect(await alice.waitForPush('rejected')).toMatchObject({ userID: 'bob' });
      } finally {
        await bob.close();
      }
      const aliceSocket = (alice.ws as unknown as { _socket: TLSSocket })._socket;
      expect(aliceSocket.getPeerCertificate().fingerprint256).toBe(fingerprintOf(first));
      expect(alice.ws.readyState).toBe(alice.ws.OPEN);
    } finally {
      await alice.close();
    }
  });

  test('a failed reload keeps the old certificate, logs an error and says why', async () => {
    const first = certificate();
    const second = certificate();
    const dir = tempDir();
    const files = install(first, dir);
    const logger = recordingLogger();
    server = await startTestServer({ tls: files, logger });

    // A key that is not the certificate's (certbot half-way through writing, say).
    copyFileSync(second.keyFile, files.keyFile);
    await expect(server.reloadTls()).rejects.toThrow(ConfigError);
    await expect(server.reloadTls()).rejects.toThrow(/does not belong to the certificate/);
    writeFileSync(files.certFile, 'not a certificate');
    await expect(server.reloadTls()).rejects.toThrow(/is not a PEM certificate/);
    rmSync(files.keyFile);
    await expect(server.reloadTls()).rejects.toThrow(/cannot read the TLS key/);

    expect((await httpsGet(`${server.url}/healthz`, first.cert)).fingerprint).toBe(
      fingerprintOf(first),
    );
    expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual(
      Array(4).fill('TLS reload failed, still using the previous certificate'),
    );
    // Fixed files load again.
    install(second, dir);
    await server.reloadTls();
    expect((await httpsGet(`${server.url}/healthz`, second.cert)).fingerprint).toBe(
      fingerprintOf(second),
    );
  });

  test('a server without TLS has nothing to reload', async () => {
    server = await startTestServer();
    await expect(server.reloadTls()).rejects.toThrow(/no TLS certificate to reload/);
  });

  test('SIGHUP to `ringline serve` reloads it, and the server keeps running', async () => {
    const bin = fileURLToPath(new URL('../../bin/ringline.js', import.meta.url));
    const dist = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
    expect(existsSync(dist), `${dist} is missing: run npx tsc -b`).toBe(true);
    const first = certificate();
    const second = certificate();
    const files = install(first, tempDir());
    const child = spawn(
      process.execPath,
      [
        bin,
        'serve',
        '--dev',
        '--port',
        '0',
        '--janus',
        'off',
        '--data-dir',
        tempDir(),
        '--tls-cert',
        files.certFile,
        '--tls-key',
        files.keyFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(
      () => /listening on https:\/\//.test(stdout) || child.exitCode !== null,
      'the URL',
    );
    const url = /listening on (https:\/\/\S+)/.exec(stdout)?.[1];
    expect(url, stderr).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(stdout).toContain(`userSigs:  ${url}/api/dev/usersig`);
    const both = [first.cert, second.cert];
    expect((await httpsGet(`${url}/healthz`, both)).fingerprint).toBe(fingerprintOf(first));

    install(second, join(files.certFile, '..'));
    child.kill('SIGHUP');
    await waitFor(() => stderr.includes('TLS certificate reloaded'), 'the reload to be logged');
    expect((await httpsGet(`${url}/healthz`, both)).fingerprint).toBe(fingerprintOf(second));
    expect(child.exitCode).toBe(null);

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('bad TLS configuration is a ConfigError at start', () => {
  test.each([
    [
      'a missing certificate',
      (c: TestCertificate) => ({ certFile: '/nonexistent/cert.pem', keyFile: c.keyFile }),
      /cannot read the TLS certificate \/nonexistent\/cert\.pem/,
    ],
    [
      'a missing key',
      (c: TestCertificate) => ({ certFile: c.certFile, keyFile: '/nonexistent/key.pem' }),
      /cannot read the TLS key \/nonexistent\/key\.pem/,
    ],
    [
      'a key given as the certificate',
      (c: TestCertificate) => ({ certFile: c.keyFile, keyFile: c.keyFile }),
      /is not a PEM certificate/,
    ],
    [
      'a certificate given as the key',
      (c: TestCertificate) => ({ certFile: c.certFile, keyFile: c.certFile }),
      /is not an unencrypted PEM private key/,
    ],
    [
      "another certificate's key",
      (c: TestCertificate) => ({ certFile: c.certFile, keyFile: certificate().keyFile }),
      /does not belong to the certificate/,
    ],
    [
      'only a certificate',
      (c: TestCertificate) => ({ certFile: c.certFile }),
      /needs both a certificate and a key file/,
    ],
  ])('%s', async (_name, files, message) => {
    const cert = certificate();
    const start = startTestServer({ tls: files(cert) as { certFile: string; keyFile: string } });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(message);
  });

  test('the CLI exits 2 with the message', async () => {
    let stderr = '';
    const code = await main(
      [
        'serve',
        '--dev',
        '--port',
        '0',
        '--janus',
        'off',
        '--data-dir',
        tempDir(),
        '--tls-cert',
        '/nonexistent/c.pem',
        '--tls-key',
        '/nonexistent/k.pem',
      ],
      { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, env: {} },
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/^ringline: cannot read the TLS certificate \/nonexistent\/c\.pem/);
  });
});

describe('TLS flags', () => {
  test('--tls-cert and --tls-key, or their environment variables, give ServerOptions.tls', () => {
    expect(parseServeArgs(['--tls-cert', 'c.pem', '--tls-key', 'k.pem'], {}).tls).toEqual({
      certFile: 'c.pem',
      keyFile: 'k.pem',
    });
    expect(
      parseServeArgs([], { RINGLINE_TLS_CERT: '/etc/c.pem', RINGLINE_TLS_KEY: '/etc/k.pem' }).tls,
    ).toEqual({ certFile: '/etc/c.pem', keyFile: '/etc/k.pem' });
    // Flags win over the environment.
    expect(
      parseServeArgs(['--tls-cert', 'c.pem', '--tls-key', 'k.pem'], {
        RINGLINE_TLS_CERT: '/etc/c.pem',
        RINGLINE_TLS_KEY: '/etc/k.pem',
      }).tls,
    ).toEqual({ certFile: 'c.pem', keyFile: 'k.pem' });
    expect(parseServeArgs([], {}).tls).toBeUndefined();
  });

  test.each([
    [
      ['--tls-cert', 'c.pem'],
      {},
      /--tls-cert needs --tls-key too: the certificate and its key go together/,
    ],
    [['--tls-key', 'k.pem'], {}, /--tls-key needs --tls-cert too/],
    [[], { RINGLINE_TLS_CERT: 'c.pem' }, /go together/],
  ])('%j %j is a ConfigError', (args, env, message) => {
    expect(() => parseServeArgs(args, env)).toThrow(ConfigError);
    expect(() => parseServeArgs(args, env)).toThrow(message);
  });

  test('serve --help lists the flags', async () => {
    let stdout = '';
    await main(['serve', '--help'], { stdout: { write: (s: string) => (stdout += s) } });
    for (const flag of [
      '--tls-cert <FILE>',
      '--tls-key <FILE>',
      'RINGLINE_TLS_CERT',
      'RINGLINE_TLS_KEY',
      'SIGHUP',
      '--trust-proxy',
    ]) {
      expect(stdout).toContain(flag);
    }
  });
});
