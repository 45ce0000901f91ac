import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { ServerErrorCode } from '@ringline/protocol';
import { verifyUserSig } from '../auth/usersig.js';
import { buildHttpApp } from './app.js';
import { startTestServer, type TestServer } from '../testing/server.js';

let server: TestServer | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ringline-http-'));
  dirs.push(d);
  return d;
}

describe('GET /healthz', () => {
  test('answers {ok:true}', async () => {
    server = await startTestServer();
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});

describe('GET /api/dev/usersig', () => {
  test('in dev mode mints a userSig that verifies and logs in', async () => {
    server = await startTestServer({ dev: true });
    const res = await fetch(`${server.url}/api/dev/usersig?userID=alice`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { sdkAppID: number; userID: string; userSig: string };
    expect(body.sdkAppID).toBe(server.sdkAppID);
    expect(body.userID).toBe('alice');
    expect(verifyUserSig(body.userSig, { ...server, userID: 'alice' }).userID).toBe('alice');
  });

  test.each([['bad%20id'], [''], ['x'.repeat(33)]])(
    'in dev mode answers 400 INVALID_USER_ID for userID=%s',
    async (id) => {
      server = await startTestServer({ dev: true });
      const res = await fetch(`${server.url}/api/dev/usersig?userID=${id}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: number; name: string; message: string } };
      expect(body.error).toMatchObject({
        code: ServerErrorCode.INVALID_USER_ID,
        name: 'INVALID_USER_ID',
      });
    },
  );

  test('without dev mode does not exist (404)', async () => {
    server = await startTestServer({
      dev: false,
      sdkAppID: 1400000123,
      secretKey: 'production-key',
    });
    const res = await fetch(`${server.url}/api/dev/usersig?userID=alice`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('userSig');
  });
});

describe('GET /sdk/trtc-calling.{js,mjs}', () => {
  test('serves the built bundles as JavaScript', async () => {
    const sdkDir = tempDir();
    writeFileSync(join(sdkDir, 'trtc-calling.js'), 'var TRTCCalling = 1;');
    writeFileSync(join(sdkDir, 'trtc-calling.mjs'), 'export default 2;');
    server = await startTestServer({ sdkDir });
    const js = await fetch(`${server.url}/sdk/trtc-calling.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(await js.text()).toBe('var TRTCCalling = 1;');
    const mjs = await fetch(`${server.url}/sdk/trtc-calling.mjs`);
    expect(await mjs.text()).toBe('export default 2;');
  });

  test('answers 404 saying how to build them when they are not built', async () => {
    server = await startTestServer({ sdkDir: join(tempDir(), 'missing') });
    const res = await fetch(`${server.url}/sdk/trtc-calling.js`);
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/not built.*npm run build --workspace @ringline\/calling/);
  });
});

describe('GET /sdk/callkit.{js,mjs}', () => {
  const appWith = (callkitDir: string) =>
    buildHttpApp({ sdkAppID: 1400000001, secretKey: 'k', dev: false, callkitDir });

  test('serves the call UI kit bundles as JavaScript', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'callkit.js'), 'var TUICallKit = 1;');
    writeFileSync(join(dir, 'callkit.mjs'), 'export const STATUS = {};');
    const app = await appWith(dir);
    try {
      const js = await app.inject({ method: 'GET', url: '/sdk/callkit.js' });
      expect(js.statusCode).toBe(200);
      expect(js.headers['content-type']).toMatch(/javascript/);
      expect(js.body).toBe('var TUICallKit = 1;');
      const mjs = await app.inject({ method: 'GET', url: '/sdk/callkit.mjs' });
      expect(mjs.statusCode).toBe(200);
      expect(mjs.body).toBe('export const STATUS = {};');
    } finally {
      await app.close();
    }
  });

  test('answers 404 saying how to build them when they are not built', async () => {
    const app = await appWith(join(tempDir(), 'missing'));
    try {
      const res = await app.inject({ method: 'GET', url: '/sdk/callkit.js' });
      expect(res.statusCode).toBe(404);
      expect(res.body).toMatch(/not built.*npm run build --workspace @ringline\/callkit/);
    } finally {
      await app.close();
    }
  });
});

describe('the demo at /', () => {
  test('is served from the demo directory', async () => {
    const demoDir = tempDir();
    writeFileSync(join(demoDir, 'index.html'), '<!doctype html><title>demo</title>');
    writeFileSync(join(demoDir, 'app.js'), 'console.log(1)');
    server = await startTestServer({ demoDir });
    const index = await fetch(`${server.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toContain('<title>demo</title>');
    expect((await fetch(`${server.url}/app.js`)).status).toBe(200);
    // A raw request line (fetch would normalise the dots away) must not escape the directory.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      get({ host: '127.0.0.1', port: server!.port, path: '/../../../../etc/passwd' }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    expect([403, 404]).toContain(status);
  });

  test('answers 404 with a hint when not built', async () => {
    server = await startTestServer({ demoDir: join(tempDir(), 'missing') });
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/demo is not built/);
  });
});

describe('WebSocket upgrades', () => {
  test('are refused on any path but /ws', async () => {
    server = await startTestServer();
    const ws = new WebSocket(server.url.replace('http', 'ws') + '/elsewhere');
    const status = await new Promise<number | undefined>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.on('error', () => resolve(undefined));
    });
    expect(status).toBe(404);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
