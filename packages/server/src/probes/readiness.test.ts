/**
 * Readiness: each part's check bounded in time, the node not ready while any fails or while it
 * drains; and `/readyz` on a real server saying which part is missing — an external TURN server
 * that does not answer STUN, a Janus that was killed, a Postgres store that went away — and
 * ready again once the part is back.
 */
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../cluster/conformance/support.js';
import { silentLogger } from '../log.js';
import { startJanus } from '../sfu/janus-process.js';
import { hasJanus } from '../testing/sfu.js';
import { startTestServer, type TestServer } from '../testing/server.js';
import { postgresBackend } from '../testing/store-backends.js';
import { cached, readiness } from './readiness.js';

type Readyz = { status: number; body: { ready: boolean; checks: Record<string, boolean> } };

async function readyz(server: TestServer): Promise<Readyz> {
  const res = await fetch(`${server.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Readyz['body'] };
}

/** Polls /readyz until `check` holds (fails after 15 s naming `what`); resolves with that answer. */
async function readyzUntil(
  server: TestServer,
  what: string,
  check: (r: Readyz) => boolean,
): Promise<Readyz> {
  let answer: Readyz | undefined;
  await waitFor(async () => check((answer = await readyz(server))), `/readyz: ${what}`, 15_000);
  return answer!;
}

describe('readiness', () => {
  it('is ready when every check passes; a false, a throw or a late answer fails it', async () => {
    expect(await readiness({ a: () => true, b: async () => true, off: undefined }, false)).toEqual({
      ready: true,
      checks: { a: true, b: true, draining: false },
    });
    const failed = await readiness(
      {
        ok: () => true,
        no: () => false,
        throws: () => {
          throw new Error('down');
        },
        late: () => new Promise<boolean>(() => {}),
      },
      false,
      50,
    );
    expect(failed).toEqual({
      ready: false,
      checks: { ok: true, no: false, throws: false, late: false, draining: false },
    });
  });

  it('is not ready while draining, whatever the checks say', async () => {
    expect(await readiness({ a: () => true }, true)).toEqual({
      ready: false,
      checks: { a: true, draining: true },
    });
  });

  it('reuses a cached answer for its lifetime, then asks again', async () => {
    let probes = 0;
    const check = cached(async () => ++probes > 0, 60);
    await Promise.all([check(), check(), check()]);
    expect(probes).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    await check();
    expect(probes).toBe(2);
  });
});

describe('/readyz on a real server', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers 200 with each part it checked', async () => {
    server = await startTestServer();
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      ready: true,
      checks: { store: true, cluster: true, turn: true, draining: false },
    });
  });

  it('answers 503 naming TURN when the external TURN server does not answer STUN', async () => {
    // A UDP port that is bound and silent: STUN requests to it go unanswered.
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    try {
      const { port } = silent.address();
      server = await startTestServer({
        turn: `turn:127.0.0.1:${port}`,
        turnSecret: 'readyz-turn-secret-0123456789abcdef',
      });
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        ready: false,
        checks: { turn: false, store: true },
      });
    } finally {
      silent.close();
    }
  });
});

describe.runIf(hasJanus)('/readyz and the Janus the node uses', () => {
  it('answers 503 naming janus while Janus is down, and 200 once its supervisor restarted it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ringline-readyz-janus-'));
    const janus = await startJanus({
      dataDir: dir,
      iceInterface: process.env.RINGLINE_MEDIA_IFACE ?? 'lo',
      log: silentLogger,
    });
    let server: TestServer | undefined;
    try {
      server = await startTestServer({ janus: janus.url });
      await readyzUntil(
        server,
        'ready with janus',
        (r) => r.status === 200 && r.body.checks.janus === true,
      );
      const pid = janus.pid!;
      process.kill(pid, 'SIGKILL');
      const down = await readyzUntil(server, 'janus down', (r) => r.status === 503);
      expect(down.body).toMatchObject({ ready: false, checks: { janus: false, store: true } });
      // The supervisor starts a new Janus on the same port; the node reconnects to it.
      await readyzUntil(
        server,
        'ready again',
        (r) => r.status === 200 && r.body.checks.janus === true,
      );
      expect(janus.pid).not.toBe(pid);
    } finally {
      await server?.close();
      await janus.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 40_000);
});

describe('/readyz and a Postgres store', () => {
  const backend = postgresBackend();

  it('answers 503 naming the store while Postgres is down, and 200 once it is back', async () => {
    const target = await backend.fresh();
    const server = await startTestServer({ database: target.database! });
    try {
      expect(await readyz(server)).toMatchObject({
        status: 200,
        body: { checks: { store: true } },
      });
      await backend.server().halt();
      const down = await readyzUntil(server, 'store down', (r) => r.status === 503);
      expect(down.body).toMatchObject({ ready: false, checks: { store: false } });
      await backend.server().resume();
      await readyzUntil(
        server,
        'ready again',
        (r) => r.status === 200 && r.body.checks.store === true,
      );
    } finally {
      await server.close();
    }
  }, 40_000);
});
