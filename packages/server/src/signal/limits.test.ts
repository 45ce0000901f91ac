import type { Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { CallType, SIGNAL_PATH } from '@ringline/protocol';
import { ServerError } from '../errors.js';
import { startTestServer, type TestServer } from '../testing/server.js';
import { CloseCode } from './gateway.js';
import { addressKey } from './limits.js';
import { Session } from './session.js';
import { nestsDeeperThan, topLevelId } from './validate.js';

/**
 * What one client or one address may hold of the server: connections, time without a login,
 * bytes waiting to be written, bytes kept for resuming. Each limit is hit on purpose here, and
 * only the offender feels it.
 */

/** Polls `predicate` every 20 ms until it holds; fails after `timeoutMs`. */
async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Opens a WebSocket from `localAddress`; resolves with it open, or with the HTTP refusal. */
async function open(
  server: TestServer,
  localAddress = '127.0.0.1',
): Promise<{ ws: WebSocket } | { status: number; retryAfter: string | undefined }> {
  const ws = new WebSocket(server.url.replace(/^http/, 'ws') + SIGNAL_PATH, { localAddress });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
      res.resume();
      ws.on('error', () => {});
    });
    ws.once('error', reject);
  });
}

describe('connection caps', () => {
  test('per source address: one over the cap gets 429 with Retry-After; other addresses do not', async () => {
    const server = await startTestServer({ limits: { maxConnectionsPerAddress: 3 } });
    const sockets: WebSocket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const r = await open(server);
        if (!('ws' in r)) throw new Error(`connection ${i} refused with ${r.status}`);
        sockets.push(r.ws);
      }
      expect(await open(server)).toEqual({ status: 429, retryAfter: '5' });
      const other = await open(server, '127.0.0.2');
      expect('ws' in other).toBe(true);
      if ('ws' in other) sockets.push(other.ws);
      // A closed connection frees its place.
      sockets.shift()!.close();
      await until(() => server.edgeStats().connections === 3, 'the close to be counted');
      const again = await open(server);
      expect('ws' in again).toBe(true);
      if ('ws' in again) sockets.push(again.ws);
      expect(server.edgeStats().refusedUpgrades).toBe(1);
    } finally {
      for (const ws of sockets) ws.terminate();
      await server.close();
    }
  });

  test('in total: one over the cap gets 503 with Retry-After', async () => {
    const server = await startTestServer({ limits: { maxConnections: 2 } });
    const sockets: WebSocket[] = [];
    try {
      for (const address of ['127.0.0.1', '127.0.0.2']) {
        const r = await open(server, address);
        if ('ws' in r) sockets.push(r.ws);
      }
      expect(sockets).toHaveLength(2);
      expect(await open(server, '127.0.0.3')).toEqual({ status: 503, retryAfter: '5' });
    } finally {
      for (const ws of sockets) ws.terminate();
      await server.close();
    }
  });
});

describe('login deadline', () => {
  test('a connection that does not log in in time is closed (4004); a logged-in one is not', async () => {
    const server = await startTestServer({ limits: { loginTimeout: 0.3 } });
    try {
      const user = await server.login('alice');
      const anon = await server.connect();
      expect((await anon.closed()).code).toBe(CloseCode.LOGIN_TIMEOUT);
      // alice connected before anon: her deadline had passed too, and she is still served.
      expect((await user.call('ping', {})).time).toBeGreaterThan(0);
      expect(server.edgeStats().loginTimeouts).toBe(1);
    } finally {
      await server.close();
    }
  });

  test('after logout the deadline starts again', async () => {
    const server = await startTestServer({ limits: { loginTimeout: 0.3 } });
    try {
      const user = await server.login('alice');
      await user.call('logout', {});
      expect((await user.closed()).code).toBe(CloseCode.LOGIN_TIMEOUT);
    } finally {
      await server.close();
    }
  });
});

describe('a client that does not read', () => {
  test('is closed once its unwritten bytes pass the limit; its partner and others are unaffected', async () => {
    const server = await startTestServer({
      rateLimit: { burst: 10_000, perSecond: 10_000 },
      limits: { maxBufferedBytes: 256 * 1024 },
    });
    try {
      const alice = await server.login('alice');
      const bob = await server.login('bob');
      const carol = await server.login('carol');
      const invite = await alice.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
      await bob.call('accept', { inviteID: invite.inviteID });
      // bob stops reading: the kernel's buffers fill, then the server's.
      const socket = (bob.ws as unknown as { _socket: Socket })._socket;
      socket.pause();
      const data = { description: { type: 'offer' as const, sdp: 'a'.repeat(48_000) } };
      // Bounded: 20 rounds of 50 × 48 kB is far more than loopback buffers hold.
      for (let round = 0; round < 20 && server.edgeStats().slowConsumers === 0; round++) {
        for (let i = 0; i < 50; i++)
          alice.send({ type: 'signal', callID: invite.callID, to: 'bob', data });
        await alice.sync();
      }
      expect(server.edgeStats().slowConsumers).toBe(1);
      expect((await carol.call('ping', {})).time).toBeGreaterThan(0);
      socket.resume();
      // The close frame was queued behind what bob did not read, so he may see only the cut.
      expect([CloseCode.SLOW_CONSUMER, 1006]).toContain((await bob.closed()).code);
      // His session waits to resume, its replay bounded; alice's connection is untouched.
      expect((await alice.call('ping', {})).time).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});

describe('connections are counted per address', () => {
  test.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:10.0.0.7', '10.0.0.7'],
    ['::1', '0:0:0:0::/64'],
    ['2001:db8:0:1::5', '2001:db8:0:1::/64'],
    ['2001:DB8:0000:0001:aaaa:bbbb:cccc:dddd', '2001:db8:0:1::/64'],
    ['fe80::1', 'fe80:0:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s counts as %s (IPv6 by its /64)', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});

describe('the resume outbox', () => {
  test('is bounded in bytes as well as in count; resuming from before what it dropped fails', () => {
    const sink = { sendPush: () => {} };
    const s = new Session('alice', sink, {
      outboxLimit: 1000,
      outboxBytes: 10_000,
      rateLimit: { burst: 1, perSecond: 1 },
    });
    s.detach(60_000, () => {});
    const big = {
      type: 'signal' as const,
      callID: 'c',
      from: 'bob',
      data: { x: 'y'.repeat(3000) },
    };
    for (let i = 0; i < 10; i++) s.push(big as never);
    expect(s.bufferedBytes).toBeLessThanOrEqual(10_000);
    expect(s.buffered).toBe(3);
    expect(s.canResume(7)).toBe(true);
    expect(s.canResume(6)).toBe(false);
    s.close();
  });
});

describe('nesting depth is measured on the raw bytes', () => {
  const bytes = (text: string) => Buffer.from(text);
  test.each([
    ['{}', 1, false],
    ['{"a":[[1]]}', 3, false],
    ['{"a":[[1]]}', 2, true],
    ['{"a":"[[[[[[["}', 1, false],
    ['{"a":"\\"[[[[["}', 1, false],
    ['{"a":"\\\\"}', 1, false],
    ['[[[[', 3, true],
  ])('%s with max %i → %s', (text, max, deeper) => {
    expect(nestsDeeperThan(bytes(text), max)).toBe(deeper);
  });
});

describe('the id of a frame too deep to parse is read from the raw bytes', () => {
  test.each([
    ['{"id":7,"type":"ping","a":[[[]]]}', 7],
    ['{ "type":"ping", "id" : 42 , "a":[[[]]]}', 42],
    ['{"a":{"id":1},"id":3}', 3],
    ['{"a":"\\"id\\":9","id":4}', 4],
    ['{"id":"7"}', undefined],
    ['{"id":-1}', undefined],
    ['{"id":1.5}', undefined],
    ['{"id":99999999999999999}', undefined],
    ['[{"id":1}]', undefined],
    ['{"a":[{"id":1}]}', undefined],
    ['{"type":"id","x":1}', undefined],
    ['{"id":1,"id":2}', 2],
    ['{"id":9007199254740981,"a":[]}', 9007199254740981],
    ['{"id":1,"id":"x"}', undefined],
  ])('%s → %s', (text, id) => {
    expect(topLevelId(Buffer.from(text))).toBe(id);
  });
});

describe('error messages describe hostile values without touching them', () => {
  test.each([
    [{ toString: 1 }, 'an object'],
    [Object.create(null) as object, 'an object'],
    [[[[]]], 'an array of 1'],
    ['x'.repeat(10_000), `"${'x'.repeat(64)}…"`],
    [12, '12'],
    [null, 'null'],
  ])('%#', (value, shown) => {
    const err = ServerError.invalidUserID('/to', value);
    expect(err.message).toContain(shown);
    expect(err.message.length).toBeLessThan(200);
  });

  test('an internal failure with a hostile cause', () => {
    const cause = {
      toString: () => {
        throw new Error('boom');
      },
    };
    expect(ServerError.internal(cause).message).toBe('internal error: an object');
  });
});

describe('a failure inside the server while delivering', () => {
  test('is logged and stays with that message; the session and everyone else carry on', async () => {
    const server = await startTestServer();
    try {
      const alice = await server.login('alice');
      const bob = await server.login('bob');
      const here = await server.cluster.presence.get('alice');
      // A push that cannot be serialised (a BigInt), as a bug elsewhere in the server could make.
      const push = { type: 'userLeave', callID: 'c', userID: 'x', bad: 1n } as never;
      await server.cluster.bus.send(here!.nodeID, {
        kind: 'push',
        userID: 'alice',
        sessionID: here!.sessionID,
        push,
      });
      expect((await alice.call('ping', {})).time).toBeGreaterThan(0);
      expect((await bob.call('ping', {})).time).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
