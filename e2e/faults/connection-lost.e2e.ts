/**
 * Fault: a client's TCP connection is lost mid-call (reset, no close handshake). While it is gone
 * its partner keeps doing things that push to it; the client reconnects, resumes its session
 * (`login` with `resume`), gets exactly the pushes it missed, in order, once — and the call goes on.
 * Real server process, real WebSocket clients.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import type { SignalData } from '@ringline/protocol';
import { TestClient } from '../../packages/server/src/testing/client.js';
import { startServerProcess, type ServerProcess } from './server-child.js';

const offer: SignalData = {
  description: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n' },
};
const candidate: SignalData = {
  candidate: { candidate: 'candidate:1 1 udp 2122260223 10.77.0.1 50000 typ host', sdpMid: '0' },
};

describe('a client whose connection is lost mid-call', () => {
  let server: ServerProcess;
  const clients: TestClient[] = [];
  const login = async (userID: string) => {
    const c = await TestClient.login(server, userID);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    server = await startServerProcess();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
  });

  /** alice calls bob, bob accepts: both are in the call. */
  async function inCall() {
    const alice = await login('alice');
    const bob = await login('bob');
    const { inviteID, callID } = await alice.call('invite', { userIDList: ['bob'], callType: 2 });
    await bob.waitForPush('invited', (p) => p.inviteID === inviteID);
    await bob.call('accept', { inviteID });
    await alice.waitForPush('userEnter', (p) => p.userID === 'bob');
    return { alice, bob, callID };
  }

  /** Drops bob's TCP connection with a reset, as a dead network would. */
  async function reset(client: TestClient) {
    (client.ws as unknown as { _socket: Socket })._socket.resetAndDestroy();
    await client.closed();
  }

  it('resumes its session and gets exactly the pushes it missed, in order, once', async () => {
    const { alice, bob, callID } = await inCall();
    const { sessionID, lastSeq } = { sessionID: bob.sessionID!, lastSeq: bob.lastSeq };
    await reset(bob);

    // While bob is gone: a media change and two signal messages for him (each accepted by the
    // server: bob is still a member, his session waits for him).
    await alice.call('media', { callID, audio: false, video: true });
    await alice.call('signal', { callID, to: 'bob', data: offer });
    await alice.call('signal', { callID, to: 'bob', data: candidate });

    const back = await TestClient.connect(server.url);
    clients.push(back);
    const result = await back.login(server, 'bob', { resume: { sessionID, lastSeq } });
    expect(result).toMatchObject({ resumed: true, sessionID });
    // Everything the server sent before answering this ping is in.
    await back.sync();

    expect(back.pushes.map((p) => p.seq)).toEqual([lastSeq + 1, lastSeq + 2, lastSeq + 3]);
    expect(back.pushes).toEqual([
      { type: 'mediaState', seq: lastSeq + 1, callID, userID: 'alice', audio: false, video: true },
      { type: 'signal', seq: lastSeq + 2, callID, from: 'alice', data: offer },
      { type: 'signal', seq: lastSeq + 3, callID, from: 'alice', data: candidate },
    ]);
    expect(alice.unclaimedPushes()).toEqual([]);
    expect(server.crashes).toEqual([]);
  });

  it('stays in the call: both sides can still reach each other, and hang up normally', async () => {
    const { alice, bob, callID } = await inCall();
    const { sessionID, lastSeq } = { sessionID: bob.sessionID!, lastSeq: bob.lastSeq };
    await reset(bob);
    await alice.call('media', { callID, audio: true, video: false });

    const back = await TestClient.connect(server.url);
    clients.push(back);
    await back.login(server, 'bob', { resume: { sessionID, lastSeq } });
    await back.waitForPush('mediaState', (p) => p.userID === 'alice');

    // The call goes on: signalling in both directions, then a normal hangup.
    await back.call('signal', { callID, to: 'alice', data: offer });
    expect(await alice.waitForPush('signal')).toMatchObject({ from: 'bob', data: offer });
    await alice.call('signal', { callID, to: 'bob', data: candidate });
    expect(await back.waitForPush('signal')).toMatchObject({ from: 'alice', data: candidate });
    await back.call('hangup', { callID });
    await alice.waitForPush('userLeave', (p) => p.userID === 'bob');
    expect(await alice.waitForPush('callEnded')).toMatchObject({ callID, reason: 'hangup' });
    // Nothing ended the call for alice while bob was away.
    expect(
      alice.pushes.filter((p) => p.type === 'userLeave' || p.type === 'callEnded'),
    ).toHaveLength(2);
    expect(server.crashes).toEqual([]);
  });
});
