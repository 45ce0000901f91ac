/**
 * The SDK against several nodes behind a balancer without sticky sessions: the client reconnects to
 * the same URL, the balancer sends it to another node, and that node resumes its session (same
 * sessionID, the pushes it missed replayed). Two in-process nodes share in-memory adapters with
 * shared sessions (the Redis adapter does the same across processes; the server's
 * cluster/redis/node-loss.test.ts kills a node process).
 */
import { createMemoryCluster, withSharedSessions } from '@ringline/server';
import WebSocket from 'ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TypedEmitter } from '../events/Emitter.js';
import { startTestServer, waitFor, type TestServer } from '../test-support/server.test-support.js';
import {
  SignalClient,
  SignalEvent,
  type SignalCallbacks,
  type WebSocketConstructor,
} from './SignalClient.js';

const opened: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

/** Round robin over the nodes, whatever URL the client asks for (nginx without sticky sessions). */
class Balancer {
  blocked = false;
  next = 0;
  readonly sockets: WebSocket[] = [];
  readonly WebSocket: typeof WebSocket;

  constructor(readonly urls: string[]) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const lb = this;
    this.WebSocket = class BalancedWebSocket extends WebSocket {
      constructor() {
        super(lb.blocked ? 'ws://127.0.0.1:1/ws' : lb.urls[lb.next++ % lb.urls.length]!);
        lb.sockets.push(this);
      }
    } as unknown as typeof WebSocket;
  }
}

function events(c: SignalClient): TypedEmitter<SignalCallbacks> {
  return c;
}

describe('SignalClient behind a balancer over two nodes', () => {
  it('reconnects to the same URL, lands on the other node, and resumes its session there', async () => {
    const cluster = withSharedSessions(createMemoryCluster());
    const shared = { sdkAppID: 1400000557, secretKey: 'sdk-nodes-key', cluster };
    opened.push(cluster);
    const nodes: TestServer[] = [];
    for (let i = 0; i < 2; i++) {
      const node = await startTestServer(shared);
      opened.push(node);
      nodes.push(node);
    }
    const lb = new Balancer(nodes.map((n) => n.signalUrl));
    const sig = nodes[0]!.sig;
    const make = () => {
      const c = new SignalClient({
        url: 'ws://balancer.invalid/ws',
        WebSocket: lb.WebSocket as unknown as WebSocketConstructor,
        reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      });
      opened.push(c);
      return c;
    };
    const bob = make();
    await bob.connect({ sdkAppID: shared.sdkAppID, userID: 'nb_bob', userSig: sig('nb_bob') });
    const alice = make();
    await alice.connect({
      sdkAppID: shared.sdkAppID,
      userID: 'nb_alice',
      userSig: sig('nb_alice'),
    });
    const sessionID = bob.session!.sessionID;
    expect(lb.sockets[0]!.url).toBe(nodes[0]!.signalUrl);

    // Bob's connection dies and cannot come back until Alice has invited him.
    lb.blocked = true;
    const reconnecting = waitFor(
      events(bob),
      SignalEvent.StateChanged,
      (s) => s === 'reconnecting',
    );
    lb.sockets[0]!.terminate();
    await reconnecting;
    const { inviteID } = await alice.request('invite', {
      userIDList: ['nb_bob'],
      callType: 1,
    });

    const resumed = waitFor(events(bob), SignalEvent.Resumed);
    const invited = waitFor(bob.pushes, 'invited');
    // The next connection the balancer gives goes to the other node.
    lb.next = 1;
    lb.blocked = false;
    expect(await resumed).toEqual([sessionID]);
    expect((await invited)[0]).toMatchObject({ inviteID, sponsor: 'nb_alice' });
    expect(lb.sockets[lb.sockets.length - 1]!.url).toBe(nodes[1]!.signalUrl);
    expect(bob.session!.sessionID).toBe(sessionID);
    await alice.request('cancel', { inviteID });
  });

  it('told that its node is draining, reconnects at once, resumes on the other node, and the call goes on', async () => {
    const cluster = withSharedSessions(createMemoryCluster());
    const shared = { sdkAppID: 1400000558, secretKey: 'sdk-drain-key', cluster };
    opened.push(cluster);
    // The draining node waits (up to 10 s) for its clients to move before it stops.
    const draining = await startTestServer({ ...shared, drainTimeoutMs: 10_000 });
    opened.push(draining);
    const other = await startTestServer(shared);
    opened.push(other);
    const lb = new Balancer([draining.signalUrl, other.signalUrl]);
    const sig = draining.sig;
    const make = () => {
      // Backoff far longer than the test: only the `draining` notice can bring it back in time.
      const c = new SignalClient({
        url: 'ws://balancer.invalid/ws',
        WebSocket: lb.WebSocket as unknown as WebSocketConstructor,
        reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
        drainJitterMs: 50,
      });
      opened.push(c);
      return c;
    };
    const bob = make();
    await bob.connect({ sdkAppID: shared.sdkAppID, userID: 'nd_bob', userSig: sig('nd_bob') });
    const alice = make();
    await alice.connect({
      sdkAppID: shared.sdkAppID,
      userID: 'nd_alice',
      userSig: sig('nd_alice'),
    });
    expect(lb.sockets[0]!.url).toBe(draining.signalUrl);
    const sessionID = bob.session!.sessionID;
    const invited = waitFor(bob.pushes, 'invited');
    const { inviteID, callID } = await alice.request('invite', {
      userIDList: ['nd_bob'],
      callType: 1,
    });
    await invited;
    const entered = waitFor(alice.pushes, 'userEnter');
    await bob.request('accept', { inviteID });
    await entered;

    const resumed = waitFor(events(bob), SignalEvent.Resumed);
    const closed = vi.fn();
    bob.on(SignalEvent.Closed, closed);
    lb.next = 1;
    const stopped = draining.close();
    expect(await resumed).toEqual([sessionID]);
    expect(lb.sockets[lb.sockets.length - 1]!.url).toBe(other.signalUrl);
    // The node stops once its client has moved, long before its drain timeout.
    await stopped;

    const signal = waitFor(bob.pushes, 'signal');
    await alice.request('signal', {
      callID,
      to: 'nd_bob',
      data: { candidate: { candidate: 'c' } },
    });
    expect((await signal)[0]).toMatchObject({ from: 'nd_alice' });
    const ended = waitFor(bob.pushes, 'callEnded');
    await alice.request('hangup', { callID });
    expect((await ended)[0]).toMatchObject({ callID, reason: 'hangup' });
    expect(bob.session!.sessionID).toBe(sessionID);
    expect(closed).not.toHaveBeenCalled();
  });
});
