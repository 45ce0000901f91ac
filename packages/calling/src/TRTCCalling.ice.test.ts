/**
 * The SDK's ICE configuration and media-failure handling through TRTCCalling and the CallEngine,
 * on the real server with the fake media backend: the `iceTransportPolicy` option merged with the
 * server's, the `iceServers` push reaching live and later sessions, and a media connection that
 * fails ending the call with ERROR 60120 on both sides. (The watchdog's timing is unit-tested in
 * media/ConnectionWatchdog.test.ts; real connections fail in e2e/ice-restart.e2e.ts.)
 */
import type { IceConfig, IceServer } from '@ringline/protocol';
import { SdkErrorCode, ServerErrorCode } from '@ringline/protocol';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import TRTCCalling from './TRTCCalling.js';
import { effectiveIcePolicy } from './engine/CallEngine.js';
import type { WebSocketConstructor } from './signal/SignalClient.js';
import { FakeMediaBackend, type FakeSession } from './test-support/fakeMedia.test-support.js';
import { EventLog } from './test-support/phone.test-support.js';
import { startTestServer, type TestServer } from './test-support/server.test-support.js';
import { createLogger } from './util/logger.js';

const E = TRTCCalling.EVENT;
const stun: IceServer[] = [{ urls: 'stun:100.64.0.1:3478' }];

/**
 * A WebSocket that can slip a push into what the server sends (as the server's `iceServers`
 * renewal would), renumbering the server's later pushes so their `seq` stays in order.
 */
class Injector {
  shift = 0;
  /** The highest push seq the client was given. */
  lastSeq = 0;
  socket: WebSocket | undefined;
  readonly WebSocket: typeof WebSocket;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const injector = this;
    this.WebSocket = class InjectingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        injector.socket = this;
      }

      override emit(event: string | symbol, ...args: unknown[]): boolean {
        if (event === 'message' && injector.shift > 0) {
          const frame = JSON.parse(String(args[0])) as { seq?: number };
          if (typeof frame.seq === 'number') frame.seq += injector.shift;
          args[0] = Buffer.from(JSON.stringify(frame));
        }
        if (event === 'message') {
          const { seq } = JSON.parse(String(args[0])) as { seq?: number };
          if (typeof seq === 'number') injector.lastSeq = Math.max(injector.lastSeq, seq);
        }
        return super.emit(event, ...args);
      }

      override send(data: string): void {
        const frame = JSON.parse(data) as { ack?: number; resume?: { lastSeq: number } };
        if (typeof frame.ack === 'number') frame.ack -= injector.shift;
        if (frame.resume) frame.resume.lastSeq -= injector.shift;
        super.send(JSON.stringify(frame));
      }
    } as unknown as typeof WebSocket;
  }

  /** Delivers `iceServers` as the session's next push. */
  pushIceServers(config: IceConfig): void {
    this.shift++;
    this.lastSeq++;
    const frame = { type: 'iceServers', seq: this.lastSeq, ...config };
    // Straight to the listeners, not through the renumbering above.
    WebSocket.prototype.emit.call(
      this.socket,
      'message',
      Buffer.from(JSON.stringify(frame)),
      false,
    );
  }
}

interface Party {
  userID: string;
  calling: TRTCCalling;
  events: EventLog;
  media: FakeMediaBackend;
  injector: Injector;
}

let ts: TestServer;
const parties: Party[] = [];
let n = 0;

beforeAll(async () => {
  ts = await startTestServer({ iceServers: stun });
});
afterAll(async () => {
  await ts?.close();
});
afterEach(async () => {
  for (const p of parties.splice(0)) await p.calling.logout().catch(() => {});
});

async function party(name: string, options: { iceTransportPolicy?: 'all' | 'relay' } = {}) {
  const userID = `${name}_${++n}`;
  const media = new FakeMediaBackend();
  const injector = new Injector();
  const calling = new TRTCCalling(
    { SDKAppID: ts.server.sdkAppID, server: ts.server.url, ...options },
    {
      media,
      WebSocket: injector.WebSocket as unknown as WebSocketConstructor,
      logger: createLogger(process.env.RINGLINE_TEST_LOG ? 'debug' : 'silent'),
    },
  );
  const p: Party = { userID, calling, events: new EventLog(calling), media, injector };
  parties.push(p);
  await calling.login({ userID, userSig: ts.sig(userID) });
  await p.events.next(E.SDK_READY);
  return p;
}

async function connected(caller: Party, callee: Party): Promise<[FakeSession, FakeSession]> {
  await caller.calling.call({ userID: callee.userID, type: 2 });
  await callee.events.next(E.INVITED);
  await callee.calling.accept();
  await caller.events.next(E.USER_ENTER);
  await callee.events.next(E.USER_ENTER);
  return [caller.media.sessions.at(-1)!, callee.media.sessions.at(-1)!];
}

describe('iceTransportPolicy', () => {
  it('is relay when the app or the server asks for it, else all', () => {
    expect(effectiveIcePolicy(undefined, undefined)).toBe('all');
    expect(effectiveIcePolicy('all', 'all')).toBe('all');
    expect(effectiveIcePolicy('relay', 'all')).toBe('relay');
    expect(effectiveIcePolicy(undefined, 'relay')).toBe('relay');
    expect(effectiveIcePolicy('all', 'relay')).toBe('relay');
  });

  it('a value other than all or relay is refused with INVALID_FIELD', () => {
    expect(
      () =>
        new TRTCCalling({
          SDKAppID: 1400000001,
          iceTransportPolicy: 'none' as 'all',
        }),
    ).toThrow(expect.objectContaining({ code: ServerErrorCode.INVALID_FIELD }));
  });

  it("sessions get the login reply's ICE servers, with relay only where the app asked for it", async () => {
    const alice = await party('alice', { iceTransportPolicy: 'relay' });
    const bob = await party('bob');
    const [a, b] = await connected(alice, bob);
    expect(a.options).toMatchObject({ iceServers: stun, iceTransportPolicy: 'relay' });
    expect(b.options).toMatchObject({ iceServers: stun, iceTransportPolicy: 'all' });
  });
});

describe('the iceServers push', () => {
  it('reaches the live session, and the next call uses the new servers', async () => {
    const alice = await party('alice');
    const bob = await party('bob');
    const [session] = await connected(alice, bob);
    const renewed: IceConfig = {
      iceServers: [{ urls: 'turn:100.64.0.1:3478', username: '1:alice', credential: 'fresh' }],
      iceTransportPolicy: 'relay',
      iceServersTtl: 600,
    };
    await alice.calling.setMicMute(true); // a request round trip: every push so far is in
    alice.injector.pushIceServers(renewed);
    expect(session.iceConfigs).toEqual([
      { iceServers: renewed.iceServers, iceTransportPolicy: 'relay' },
    ]);

    // The server's pushes after the injected one still arrive (renumbered): the call goes on.
    await bob.calling.hangup();
    await alice.events.next(E.CALL_END);
    await connected(alice, bob);
    expect(alice.media.sessions.at(-1)!.options).toMatchObject({
      iceServers: renewed.iceServers,
      iceTransportPolicy: 'relay',
    });
  });
});

describe('a media connection that fails', () => {
  it('reports ERROR 60120 and ends the call; the other side gets USER_LEAVE and CALL_END', async () => {
    const alice = await party('alice');
    const bob = await party('bob');
    const [session] = await connected(alice, bob);
    session.fail(bob.userID);
    const error = await alice.events.next(E.ERROR);
    expect(error).toMatchObject({ code: SdkErrorCode.MEDIA_CONNECT_FAILED });
    await alice.events.next(E.CALL_END);
    await bob.events.next(E.USER_LEAVE);
    await bob.events.next(E.CALL_END);
    // bob's own connection was fine: no error on his side.
    expect(bob.events.count(E.ERROR)).toBe(0);
    expect(alice.events.names.indexOf(E.ERROR)).toBeLessThan(
      alice.events.names.indexOf(E.CALL_END),
    );
  });

  it('the other side, whose connection is down too, reports ERROR 60120 before its CALL_END', async () => {
    const alice = await party('alice');
    const bob = await party('bob');
    const [session, bobs] = await connected(alice, bob);
    bobs.connectionDown = true; // bob's connection is restarting, not given up yet
    session.fail(bob.userID);
    await alice.events.next(E.CALL_END);
    const error = await bob.events.next(E.ERROR);
    expect(error).toMatchObject({ code: SdkErrorCode.MEDIA_CONNECT_FAILED });
    await bob.events.next(E.CALL_END);
    expect(bob.events.names.indexOf(E.ERROR)).toBeLessThan(bob.events.names.indexOf(E.CALL_END));
  });
});
