import { ServerErrorCode, SdkErrorCode } from '@ringline/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Network,
  startTestServer,
  waitFor,
  type TestServer,
} from '../test-support/server.test-support.js';
import type { TypedEmitter } from '../events/Emitter.js';
import {
  SignalClient,
  SignalEvent,
  SignalState,
  type SignalCallbacks,
  type SignalClientOptions,
  type WebSocketConstructor,
} from './SignalClient.js';

let ts: TestServer;
const opened: SignalClient[] = [];

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  await ts.close();
});
afterEach(() => {
  for (const client of opened.splice(0)) client.close();
});

/**
 * The client as the emitter of its lifecycle events, for `waitFor`: TypeScript infers the callbacks
 * map from a `TypedEmitter<E>` but not from a subclass of one.
 */
function events(c: SignalClient): TypedEmitter<SignalCallbacks> {
  return c;
}

function client(network = new Network(), options: Partial<SignalClientOptions> = {}) {
  const c = new SignalClient({
    url: ts.signalUrl,
    WebSocket: network.WebSocket as unknown as WebSocketConstructor,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    ...options,
  });
  opened.push(c);
  return c;
}

async function loggedIn(
  userID: string,
  network = new Network(),
  options: Partial<SignalClientOptions> = {},
) {
  const c = client(network, options);
  await c.connect({ sdkAppID: ts.server.sdkAppID, userID, userSig: ts.sig(userID) });
  return { client: c, network };
}

describe('SignalClient login', () => {
  it('logs in and gets the session, ICE servers and timing', async () => {
    const { client: c } = await loggedIn('sc_alice');
    expect(c.state).toBe(SignalState.Connected);
    expect(c.session).toMatchObject({
      resumed: false,
      userID: 'sc_alice',
      iceServers: expect.any(Array),
      inviteTimeout: expect.any(Number),
      resumeWindow: expect.any(Number),
      pingInterval: expect.any(Number),
    });
    expect(c.session!.sessionID).toEqual(expect.any(String));
  });

  it('a forged userSig is refused with USERSIG_INVALID and the client is closed', async () => {
    const c = client();
    const sig = ts.sig('sc_bob');
    const forged = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
    await expect(
      c.connect({ sdkAppID: ts.server.sdkAppID, userID: 'sc_bob', userSig: forged }),
    ).rejects.toMatchObject({ code: ServerErrorCode.USERSIG_INVALID });
    expect(c.state).toBe(SignalState.Closed);
  });

  it("another user's userSig is refused with USERSIG_WRONG_USER", async () => {
    const c = client();
    await expect(
      c.connect({ sdkAppID: ts.server.sdkAppID, userID: 'sc_bob', userSig: ts.sig('sc_carol') }),
    ).rejects.toMatchObject({ code: ServerErrorCode.USERSIG_WRONG_USER });
  });

  it('an unreachable server rejects with SIGNAL_DISCONNECTED', async () => {
    const c = client(new Network(), { url: 'ws://127.0.0.1:1/ws' });
    await expect(
      c.connect({ sdkAppID: ts.server.sdkAppID, userID: 'sc_bob', userSig: ts.sig('sc_bob') }),
    ).rejects.toMatchObject({ code: SdkErrorCode.SIGNAL_DISCONNECTED });
    expect(c.state).toBe(SignalState.Closed);
  });

  it('connect() aborted by its signal rejects with the reason and closes', async () => {
    const c = client();
    const controller = new AbortController();
    const pending = c.connect(
      { sdkAppID: ts.server.sdkAppID, userID: 'sc_dan', userSig: ts.sig('sc_dan') },
      controller.signal,
    );
    controller.abort(new Error('logged out'));
    await expect(pending).rejects.toThrow('logged out');
    expect(c.state).toBe(SignalState.Closed);
  });
});

describe('SignalClient requests', () => {
  it('resolves a request with its reply', async () => {
    const { client: c } = await loggedIn('sc_alice');
    const result = await c.request('ping', { ack: 0 });
    expect(result.time).toEqual(expect.any(Number));
  });

  it("rejects with the server's code and message", async () => {
    const { client: c } = await loggedIn('sc_alice');
    await expect(c.request('accept', { inviteID: 'no-such-invitation' })).rejects.toMatchObject({
      code: ServerErrorCode.INVITATION_NOT_FOUND,
      message: expect.any(String),
    });
  });

  it('times out with SIGNAL_TIMEOUT when the reply never comes', async () => {
    const network = new Network();
    const { client: c } = await loggedIn('sc_alice', network);
    network.drop = (frame) => frame.type === 'media';
    await expect(
      c.request('media', { callID: 'x', audio: true, video: false }, { timeoutMs: 100 }),
    ).rejects.toMatchObject({ code: SdkErrorCode.SIGNAL_TIMEOUT });
    // The connection is still fine for other requests.
    await expect(c.request('ping', {})).resolves.toHaveProperty('time');
  });

  it('close() rejects pending requests with SIGNAL_DISCONNECTED and is idempotent', async () => {
    const { client: c } = await loggedIn('sc_alice');
    const closed: unknown[] = [];
    c.on(SignalEvent.Closed, (info) => closed.push(info));
    const pending = c.request('ping', {});
    c.close();
    c.close();
    await expect(pending).rejects.toMatchObject({ code: SdkErrorCode.SIGNAL_DISCONNECTED });
    await expect(c.request('ping', {})).rejects.toMatchObject({
      code: SdkErrorCode.SIGNAL_DISCONNECTED,
    });
    expect(closed).toEqual([{ reason: 'closed' }]);
  });
});

describe('SignalClient pushes', () => {
  it('dispatches pushes by type with their seq', async () => {
    const { client: alice } = await loggedIn('sc_alice');
    const { client: bob } = await loggedIn('sc_bob');
    const invited = waitFor(bob.pushes, 'invited');
    const { inviteID, callID } = await alice.request('invite', {
      userIDList: ['sc_bob'],
      callType: 2,
    });
    const [push] = await invited;
    expect(push).toMatchObject({
      type: 'invited',
      inviteID,
      callID,
      sponsor: 'sc_alice',
      userIDList: ['sc_bob'],
      isFromGroup: false,
      callType: 2,
      seq: expect.any(Number),
    });
    expect(bob.lastSeq).toBe(push.seq);
    const cancelled = waitFor(bob.pushes, 'inviteEnded');
    await alice.request('cancel', { inviteID });
    expect((await cancelled)[0]).toMatchObject({
      inviteID,
      reason: 'cancelled',
      seq: push.seq + 1,
    });
  });
});

describe('SignalClient reconnect', () => {
  it('after the socket dies it reconnects, resumes, and gets the push sent meanwhile', async () => {
    const { client: alice } = await loggedIn('sc_alice');
    const { client: bob, network } = await loggedIn('sc_bob');
    const sessionID = bob.session!.sessionID;
    const states: SignalState[] = [];
    bob.on(SignalEvent.StateChanged, (next) => states.push(next));

    // Bob's connection dies and cannot come back until the invitation was sent.
    network.blocked = true;
    const reconnecting = waitFor(
      events(bob),
      SignalEvent.StateChanged,
      (s) => s === SignalState.Reconnecting,
    );
    network.cut();
    await reconnecting;
    const { inviteID } = await alice.request('invite', { userIDList: ['sc_bob'], callType: 1 });

    const resumed = waitFor(events(bob), SignalEvent.Resumed);
    const invited = waitFor(bob.pushes, 'invited');
    network.blocked = false;
    expect(await resumed).toEqual([sessionID]);
    expect((await invited)[0]).toMatchObject({ inviteID, sponsor: 'sc_alice' });
    expect(bob.state).toBe(SignalState.Connected);
    expect(bob.session!.sessionID).toBe(sessionID);
    expect(states).toEqual([SignalState.Reconnecting, SignalState.Connected]);
    await alice.request('cancel', { inviteID });
  });

  it('an unanswered ping is taken as a dead connection: it reconnects and resumes', async () => {
    const fast = await startTestServer({ pingInterval: 0.2 });
    const network = new Network();
    const c = new SignalClient({
      url: fast.signalUrl,
      WebSocket: network.WebSocket as unknown as WebSocketConstructor,
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    try {
      await c.connect({
        sdkAppID: fast.server.sdkAppID,
        userID: 'sc_erin',
        userSig: fast.sig('sc_erin'),
      });
      const sessionID = c.session!.sessionID;
      network.drop = (frame) => frame.type === 'ping';
      await waitFor(events(c), SignalEvent.StateChanged, (s) => s === SignalState.Reconnecting);
      network.drop = () => false;
      expect(await waitFor(events(c), SignalEvent.Resumed)).toEqual([sessionID]);
    } finally {
      c.close();
      await fast.close();
    }
  });

  it('probe() on a socket whose path died: replaced at once (no backoff) and the session resumed', async () => {
    // A reconnect delay of a minute: only a probe-found loss skips it.
    const { client: c, network } = await loggedIn('sc_frank', new Network(), {
      reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    const sessionID = c.session!.sessionID;
    const dead = network.current;
    // Nothing sent on the old socket arrives any more, and the OS has not noticed.
    network.drop = () => network.current === dead;
    const resumed = waitFor(events(c), SignalEvent.Resumed);
    c.probe(100);
    expect(await resumed).toEqual([sessionID]);
    expect(network.current).not.toBe(dead);
    expect(c.state).toBe(SignalState.Connected);
  });

  it('probe() on a healthy connection changes nothing', async () => {
    const { client: c, network } = await loggedIn('sc_gina');
    const states: SignalState[] = [];
    c.on(SignalEvent.StateChanged, (next) => states.push(next));
    const socket = network.current;
    c.probe(1_000);
    c.probe(1_000); // one probe at a time: the second is a no-op
    // A request after the probe's ping is answered after it (one socket, in order).
    expect((await c.request('ping', {})).time).toBeGreaterThan(0);
    expect(states).toEqual([]);
    expect(network.current).toBe(socket);
  });

  it('when the server no longer has the session (resumed: false) it reports SessionLost and goes on', async () => {
    const strict = await startTestServer({ resumeWindow: 0 });
    const network = new Network();
    const c = new SignalClient({
      url: strict.signalUrl,
      WebSocket: network.WebSocket as unknown as WebSocketConstructor,
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    try {
      await c.connect({
        sdkAppID: strict.server.sdkAppID,
        userID: 'sc_fay',
        userSig: strict.sig('sc_fay'),
      });
      const old = c.session!.sessionID;
      await c.request('ping', { ack: 0 });
      const lost = waitFor(events(c), SignalEvent.SessionLost);
      network.cut();
      const [info] = await lost;
      expect(info.previousSessionID).toBe(old);
      expect(info.sessionID).not.toBe(old);
      expect(c.session).toMatchObject({ sessionID: info.sessionID, resumed: false });
      expect(c.lastSeq).toBe(0);
      await expect(c.request('ping', {})).resolves.toHaveProperty('time');
    } finally {
      c.close();
      await strict.close();
    }
  });

  it('gives up after maxAttempts and reports Closed {reason: failed}', async () => {
    const network = new Network();
    const { client: c } = await loggedIn('sc_gus', network, {
      reconnect: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 2 },
    });
    network.blocked = true;
    const closed = waitFor(events(c), SignalEvent.Closed);
    network.cut();
    const [info] = await closed;
    expect(info).toMatchObject({
      reason: 'failed',
      error: { code: SdkErrorCode.SIGNAL_DISCONNECTED },
    });
    expect(c.state).toBe(SignalState.Closed);
  });

  it('a request sent while reconnecting waits for the connection and then goes through', async () => {
    const network = new Network();
    const { client: c } = await loggedIn('sc_hal', network);
    network.blocked = true;
    const reconnecting = waitFor(
      events(c),
      SignalEvent.StateChanged,
      (s) => s === SignalState.Reconnecting,
    );
    network.cut();
    await reconnecting;
    const pending = c.request('ping', {});
    network.blocked = false;
    await expect(pending).resolves.toHaveProperty('time');
  });
});

describe('SignalClient kicked', () => {
  it('a second login of the same user closes the first for good with reason kicked', async () => {
    const first = await loggedIn('sc_ivy');
    const closed = waitFor(events(first.client), SignalEvent.Closed);
    const second = await loggedIn('sc_ivy');
    expect(await closed).toEqual([{ reason: 'kicked', kickReason: 'duplicate_login' }]);
    expect(first.client.state).toBe(SignalState.Closed);
    // The kicked client does not come back (that would kick the new one in turn).
    await expect(second.client.request('ping', {})).resolves.toHaveProperty('time');
    expect(first.network.sockets).toHaveLength(1);
    expect(second.client.state).toBe(SignalState.Connected);
  });
});

describe('SignalClient notifications', () => {
  it('sends a signal without an id; a refused one comes back as a ServerError naming it', async () => {
    const network = new Network();
    const { client: alice } = await loggedIn('sc_alice', network);
    const { client: bob } = await loggedIn('sc_bob');
    const invited = waitFor(bob.pushes, 'invited');
    const { inviteID, callID } = await alice.request('invite', {
      userIDList: ['sc_bob'],
      callType: 1,
    });
    await invited;
    await bob.request('accept', { inviteID });

    const sent: Array<{ type?: string }> = [];
    network.drop = (frame) => {
      sent.push(frame);
      return false;
    };
    const relayed = waitFor(bob.pushes, 'signal');
    const candidate = { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host' };
    await alice.notify('signal', { callID, to: 'sc_bob', data: { candidate } });
    expect((await relayed)[0].data).toEqual({ candidate });
    expect(sent).toEqual([{ type: 'signal', callID, to: 'sc_bob', data: { candidate } }]);

    const refused = waitFor(events(alice), SignalEvent.ServerError);
    await alice.notify('signal', { callID, to: 'sc_carol', data: { candidate } });
    const [error, request] = await refused;
    expect(request).toBe('signal');
    expect(error.code).toBe(ServerErrorCode.NOT_CALL_MEMBER);
    await alice.request('hangup', { callID });
  });
});
