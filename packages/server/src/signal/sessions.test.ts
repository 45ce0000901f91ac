import { afterEach, describe, expect, test } from 'vitest';
import { CallType, PROTOCOL_VERSION, ServerErrorCode } from '@ringline/protocol';
import { genUserSig } from '../auth/usersig.js';
import { TestClient } from '../testing/client.js';
import { expectNoCallState, startTestServer, type TestServer } from '../testing/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  server = await startTestServer(options);
  return server;
}

/** Sets up a connected audio call alice ↔ bob. */
async function connectedCall(s: TestServer) {
  const alice = await s.login('alice');
  const bob = await s.login('bob');
  const { inviteID, callID } = await alice.call('invite', {
    userIDList: ['bob'],
    callType: CallType.AUDIO,
  });
  await bob.call('accept', { inviteID });
  await alice.waitForPush('userEnter');
  return { alice, bob, callID };
}

describe('login', () => {
  test('with a valid userSig returns the session and the server’s settings', async () => {
    const s = await start({
      iceServers: [{ urls: 'stun:127.0.0.1:3478' }],
      inviteTimeout: 12,
      resumeWindow: 7,
    });
    const c = await s.connect();
    const result = await c.login(s, 'alice');
    expect(result).toEqual({
      sessionID: expect.any(String),
      resumed: false,
      userID: 'alice',
      iceServers: [{ urls: 'stun:127.0.0.1:3478' }],
      iceTransportPolicy: 'all',
      iceServersTtl: 0,
      inviteTimeout: 12,
      resumeWindow: 7,
      pingInterval: 15,
    });
    expect((await c.call('ping', {})).time).toBeGreaterThan(0);
  });

  const cases: Array<[string, (s: TestServer) => Record<string, unknown>, number]> = [
    [
      'garbage userSig',
      (s) => ({ sdkAppID: s.sdkAppID, userID: 'alice', userSig: 'garbage' }),
      ServerErrorCode.USERSIG_INVALID,
    ],
    [
      'expired userSig',
      (s) => ({
        sdkAppID: s.sdkAppID,
        userID: 'alice',
        userSig: genUserSig({
          ...s,
          userID: 'alice',
          expire: 10,
          now: Math.floor(Date.now() / 1000) - 60,
        }),
      }),
      ServerErrorCode.USERSIG_EXPIRED,
    ],
    [
      'userSig forged with another key',
      (s) => ({
        sdkAppID: s.sdkAppID,
        userID: 'alice',
        userSig: genUserSig({ ...s, secretKey: 'guess', userID: 'alice' }),
      }),
      ServerErrorCode.USERSIG_INVALID,
    ],
    [
      'userSig of another app',
      (s) => ({
        sdkAppID: s.sdkAppID,
        userID: 'alice',
        userSig: genUserSig({ ...s, sdkAppID: s.sdkAppID + 1, userID: 'alice' }),
      }),
      ServerErrorCode.USERSIG_WRONG_APP,
    ],
    [
      'userSig of another user',
      (s) => ({
        sdkAppID: s.sdkAppID,
        userID: 'alice',
        userSig: genUserSig({ ...s, userID: 'bob' }),
      }),
      ServerErrorCode.USERSIG_WRONG_USER,
    ],
    [
      'SDKAppID this server does not serve',
      (s) => ({
        sdkAppID: s.sdkAppID + 1,
        userID: 'alice',
        userSig: genUserSig({ ...s, sdkAppID: s.sdkAppID + 1, userID: 'alice' }),
      }),
      ServerErrorCode.UNKNOWN_APP,
    ],
    [
      'user ID outside the allowed pattern',
      (s) => ({
        sdkAppID: s.sdkAppID,
        userID: 'al ice',
        userSig: genUserSig({ ...s, userID: 'al ice' }),
      }),
      ServerErrorCode.INVALID_USER_ID,
    ],
    [
      'unsupported protocol version',
      (s) => ({
        sdkAppID: s.sdkAppID,
        userID: 'alice',
        userSig: genUserSig({ ...s, userID: 'alice' }),
        protocol: PROTOCOL_VERSION + 1,
      }),
      ServerErrorCode.NOT_SUPPORTED,
    ],
  ];
  test.each(cases)(
    'with a %s is refused with its code, and the connection can still log in',
    async (_what, fields, code) => {
      const s = await start();
      const c = await s.connect();
      const reply = await c.request('login', fields(s) as never);
      expect(reply.ok).toBe(false);
      if (!reply.ok) expect(reply.error.code).toBe(code);
      // Not logged in, still connected, and a correct login works.
      expect((await c.fail('ping', {})).code).toBe(ServerErrorCode.NOT_LOGGED_IN);
      expect((await c.login(s, 'alice')).resumed).toBe(false);
    },
  );

  test('any other request first is NOT_LOGGED_IN', async () => {
    const s = await start();
    const c = await s.connect();
    expect((await c.fail('invite', { userIDList: ['bob'], callType: 1 })).code).toBe(
      ServerErrorCode.NOT_LOGGED_IN,
    );
    expect((await c.fail('hangup', { callID: 'x' })).code).toBe(ServerErrorCode.NOT_LOGGED_IN);
    expect((await c.fail('logout', {})).code).toBe(ServerErrorCode.NOT_LOGGED_IN);
  });

  test('twice on one connection is ALREADY_LOGGED_IN', async () => {
    const s = await start();
    const c = await s.login('alice');
    const reply = await c.request('login', {
      sdkAppID: s.sdkAppID,
      userID: 'alice',
      userSig: genUserSig({ ...s, userID: 'alice' }),
    });
    expect(!reply.ok && reply.error.code).toBe(ServerErrorCode.ALREADY_LOGGED_IN);
  });
});

describe('one session per user', () => {
  test('a second login kicks the first: kicked{duplicate_login}, then the connection closes', async () => {
    const s = await start();
    const { alice, bob, callID } = await connectedCall(s);
    const alice2 = await s.login('alice');
    expect(await alice.waitForPush('kicked')).toMatchObject({ reason: 'duplicate_login' });
    expect((await alice.closed()).code).toBe(4001);
    // The old session's call is over for the other member.
    expect(await bob.waitForPush('userLeave')).toMatchObject({ callID, userID: 'alice' });
    expect(await bob.waitForPush('callEnded')).toMatchObject({ callID, reason: 'disconnected' });
    // The new session works.
    await alice2.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
    await bob.waitForPush('invited');
  });

  test('logout ends the session and the connection may log in again', async () => {
    const s = await start();
    const { alice, bob } = await connectedCall(s);
    expect(await alice.call('logout', {})).toEqual({});
    await bob.waitForPush('callEnded');
    expect((await alice.fail('ping', {})).code).toBe(ServerErrorCode.NOT_LOGGED_IN);
    expect((await alice.login(s, 'alice')).resumed).toBe(false);
    expectNoCallState(s);
  });
});

describe('resume', () => {
  test('after a dropped connection replays the missed pushes in order, and the call goes on', async () => {
    const s = await start();
    const { alice, bob, callID } = await connectedCall(s);
    const sessionID = alice.sessionID!;
    const lastSeq = alice.lastSeq;
    await alice.drop();
    for (const n of [1, 2, 3]) {
      await bob.call('signal', {
        callID,
        to: 'alice',
        data: { candidate: { candidate: `c${n}` } },
      });
    }
    await bob.call('media', { callID, audio: false, video: false });

    const back = await TestClient.connect(s.url);
    const result = await back.login(s, 'alice', { resume: { sessionID, lastSeq } });
    expect(result).toMatchObject({ resumed: true, sessionID });
    await back.waitForPush('mediaState');
    expect(
      back.pushes.map((p) => [
        p.seq,
        p.type,
        p.type === 'signal' ? p.data.candidate?.candidate : '',
      ]),
    ).toEqual([
      [lastSeq + 1, 'signal', 'c1'],
      [lastSeq + 2, 'signal', 'c2'],
      [lastSeq + 3, 'signal', 'c3'],
      [lastSeq + 4, 'mediaState', ''],
    ]);
    // Nobody noticed: the call is intact in both directions.
    await bob.sync();
    expect(bob.pushes.some((p) => p.type === 'userLeave')).toBe(false);
    await back.call('signal', { callID, to: 'bob', data: { candidate: { candidate: 'back' } } });
    expect((await bob.waitForPush('signal')).data.candidate?.candidate).toBe('back');
    await back.close();
  });

  test('from a connection the server still thinks is open replaces it', async () => {
    const s = await start();
    const { alice, bob, callID } = await connectedCall(s);
    await bob.call('signal', { callID, to: 'alice', data: { candidate: { candidate: 'unseen' } } });
    const back = await TestClient.connect(s.url);
    // The client claims it saw nothing after the userEnter: the signal is sent again.
    const lastSeq = (await alice.waitForPush('signal')).seq - 1;
    expect(
      (await back.login(s, 'alice', { resume: { sessionID: alice.sessionID!, lastSeq } })).resumed,
    ).toBe(true);
    expect((await back.waitForPush('signal')).seq).toBe(lastSeq + 1);
    expect((await alice.closed()).code).toBe(4002);
    await back.close();
  });

  test('of pushes already acknowledged (and dropped) is refused: resumed:false, a new session', async () => {
    const s = await start();
    const { alice, bob, callID } = await connectedCall(s);
    await bob.call('signal', { callID, to: 'alice', data: { candidate: { candidate: 'x' } } });
    const { seq } = await alice.waitForPush('signal');
    await alice.call('ping', { ack: seq });
    await alice.drop();
    const back = await TestClient.connect(s.url);
    const result = await back.login(s, 'alice', {
      resume: { sessionID: alice.sessionID!, lastSeq: seq - 1 },
    });
    expect(result.resumed).toBe(false);
    expect(result.sessionID).not.toBe(alice.sessionID);
    // Starting afresh ended the old session's call.
    expect(await bob.waitForPush('callEnded')).toMatchObject({ reason: 'disconnected' });
    await back.close();
  });

  test('of an unknown session is resumed:false', async () => {
    const s = await start();
    const c = await s.connect();
    expect((await c.login(s, 'alice', { resume: { sessionID: 'nope', lastSeq: 0 } })).resumed).toBe(
      false,
    );
  });

  test('after the resume window is too late: the session and its call have ended', async () => {
    const s = await start({ resumeWindow: 0.3 });
    const { alice, bob, callID } = await connectedCall(s);
    await alice.drop();
    expect(await bob.waitForPush('userLeave')).toMatchObject({ callID, userID: 'alice' });
    expect(await bob.waitForPush('callEnded')).toMatchObject({ callID, reason: 'disconnected' });
    const back = await TestClient.connect(s.url);
    expect(
      (
        await back.login(s, 'alice', {
          resume: { sessionID: alice.sessionID!, lastSeq: alice.lastSeq },
        })
      ).resumed,
    ).toBe(false);
    expectNoCallState(s);
    await back.close();
  });
});

describe('heartbeat', () => {
  test('a silent connection is dropped, its session waits to resume; a pinging one stays', async () => {
    const s = await start({ pingInterval: 0.2 });
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    // Pings as a live client would; a ping cut off by the end of the test does not matter.
    const keepAlive = setInterval(() => bob.request('ping', {}).catch(() => {}), 50);
    try {
      const started = Date.now();
      await alice.closed();
      // Silent for three intervals (0.6 s) at least; the sweep runs every half interval.
      expect(Date.now() - started).toBeGreaterThanOrEqual(550);
      expect(bob.ws.readyState).toBe(bob.ws.OPEN);
      const back = await TestClient.connect(s.url);
      expect(
        (await back.login(s, 'alice', { resume: { sessionID: alice.sessionID!, lastSeq: 0 } }))
          .resumed,
      ).toBe(true);
      await back.close();
    } finally {
      clearInterval(keepAlive);
    }
  });
});
