/**
 * Readiness: each part's check bounded in time, the node not ready while any fails or while it
 * drains; and `/readyz` on a real server saying which part is missing (an external TURN server
 * that does not answer STUN).
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/server.js';
import { cached, readiness } from './readiness.js';

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
