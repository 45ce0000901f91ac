/**
 * Pre-connect (issue 16) through TRTCCalling and the CallEngine, on the real server with the fake
 * media backend: which calls connect their media while they ring, that nothing local is attached
 * before the answer and everything is at the answer on the same connection (no new offer), and
 * that every way a ringing call ends closes the pre-connection. Real connections (transport up,
 * no bytes sent before Accept, frames after) are proved in e2e/preconnect.e2e.ts.
 */
import { describe, expect, it } from 'vitest';
import TRTCCalling from './TRTCCalling.js';
import { FakeMediaBackend, type FakeSession } from './test-support/fakeMedia.test-support.js';
import { usePhones, type phone } from './test-support/phone.test-support.js';

const E = TRTCCalling.EVENT;
const { server, user } = usePhones();

/** Offers `session` received. */
const offers = (session: FakeSession) =>
  session.received.filter((r) => r.data.description?.type === 'offer');

/** Waits until `media` has made a session that negotiated with `peer`. */
async function negotiated(media: FakeMediaBackend, peer: string): Promise<FakeSession> {
  await expect.poll(() => media.sessions.at(-1)?.negotiated.has(peer) ?? false).toBe(true);
  return media.session;
}

/** A fake media backend whose first session cannot be made. */
function refusingOneSession(): FakeMediaBackend {
  const media = new FakeMediaBackend();
  media.refuseSessions = 1;
  return media;
}

/** alice calls bob (video); both with the given options; resolves once bob's INVITED is in. */
async function ringing(
  aliceOptions: Parameters<typeof phone>[2],
  bobOptions: Parameters<typeof phone>[2] = aliceOptions,
) {
  const alice = await user('alice', aliceOptions);
  const bob = await user('bob', bobOptions);
  await alice.calling.call({ userID: bob.userID, type: 2 });
  const invited = (await bob.events.next(E.INVITED)) as { inviteID: string };
  return { alice, bob, inviteID: invited.inviteID };
}

describe('pre-connect while a one-to-one call rings', () => {
  it('on both sides: the media connects before the answer, sending nothing; the answer attaches the tracks on that same connection', async () => {
    const alice = await user('alice', { preconnect: true });
    const bob = await user('bob', { preconnect: true });
    // alice's camera opens only once the pre-connection is up (a slow permission prompt).
    const allow = alice.media.hold();
    const calling = alice.calling.call({ userID: bob.userID, type: 2 });
    await bob.events.next(E.INVITED);
    const aliceSession = await negotiated(alice.media, bob.userID);
    const bobSession = await negotiated(bob.media, alice.userID);
    allow();
    await calling;
    expect(alice.calling.getCallStatus()).toBe('calling');
    expect(aliceSession.peers.get(bob.userID)).toEqual({ initiator: true });
    expect(bobSession.peers.get(alice.userID)).toEqual({ initiator: false });
    // alice's camera and mic are open (invite-first), yet neither side sends anything.
    expect(alice.media.liveTracks.map((t) => t.kind).sort()).toEqual(['audio', 'video']);
    expect(aliceSession.localTracks).toEqual({ audio: null, video: null });
    expect(bobSession.localTracks).toEqual({ audio: null, video: null });

    await bob.calling.accept();
    await alice.events.next(E.USER_ENTER);
    await expect.poll(() => aliceSession.localTracks.video).not.toBeNull();
    expect(aliceSession.localTracks.audio).not.toBeNull();
    await expect.poll(() => bobSession.localTracks.video).not.toBeNull();
    expect(bobSession.localTracks.audio).not.toBeNull();
    // The same two sessions, one offer in all: nothing was negotiated again at the answer.
    expect(alice.media.sessions).toEqual([aliceSession]);
    expect(bob.media.sessions).toEqual([bobSession]);
    expect(offers(bobSession)).toHaveLength(1);
    expect(offers(aliceSession)).toHaveLength(0);
  });

  it("the callee's camera and mic open while it rings where the user allowed them before, and are sent from the answer", async () => {
    const { alice, bob } = await ringing({ preconnect: true });
    const bobSession = await negotiated(bob.media, alice.userID);
    await expect
      .poll(() => bob.media.liveTracks.map((t) => t.kind).sort())
      .toEqual(['audio', 'video']);
    expect(bobSession.localTracks).toEqual({ audio: null, video: null });
    await bob.calling.accept();
    await expect.poll(() => bobSession.localTracks.video).not.toBeNull();
    expect(bob.media.captures).toHaveLength(1); // accept used what was open
  });

  it('where the user has not allowed the camera yet, nothing opens before the answer (no prompt while it rings)', async () => {
    const media = new FakeMediaBackend();
    media.allowed = false;
    const { alice, bob } = await ringing({ preconnect: true }, { preconnect: true, media });
    await negotiated(bob.media, alice.userID);
    expect(bob.media.captures).toEqual([]);
    await bob.calling.accept();
    expect(bob.media.captures).toHaveLength(1);
    await expect.poll(() => bob.media.session.localTracks.video).not.toBeNull();
  });

  it("'auto' (the default) pre-connects only with relay-only ICE", async () => {
    const relay = await ringing({ iceTransportPolicy: 'relay' });
    await negotiated(relay.bob.media, relay.alice.userID);

    const direct = await ringing({});
    await direct.alice.calling.hangup();
    await direct.bob.events.next(E.CALLING_CANCEL);
    expect(direct.alice.media.sessions).toEqual([]);
    expect(direct.bob.media.sessions).toEqual([]);
  });

  it('the callee without it: nothing connects before the answer, and the call connects as usual', async () => {
    const { alice, bob } = await ringing({ preconnect: true }, { preconnect: false });
    await bob.calling.accept();
    await alice.events.next(E.USER_ENTER);
    const aliceSession = await negotiated(alice.media, bob.userID);
    expect(aliceSession.peers.get(bob.userID)).toEqual({ initiator: true });
    expect(aliceSession.localTracks.video).not.toBeNull();
  });

  it('the caller without it: the callee waits on its connection, which the offer made at the answer reaches', async () => {
    const { alice, bob } = await ringing({ preconnect: false }, { preconnect: true });
    await expect.poll(() => bob.media.sessions.length).toBe(1);
    const bobSession = bob.media.session;
    expect(alice.media.sessions).toEqual([]);
    await bob.calling.accept();
    await alice.events.next(E.USER_ENTER);
    await negotiated(bob.media, alice.userID);
    expect(bob.media.sessions).toEqual([bobSession]);
    expect(bobSession.localTracks.video).not.toBeNull();
  });

  it.each([
    ['rejected', (s: Awaited<ReturnType<typeof ringing>>) => s.bob.calling.reject()],
    ['cancelled', (s: Awaited<ReturnType<typeof ringing>>) => s.alice.calling.hangup()],
    [
      'busy',
      (s: Awaited<ReturnType<typeof ringing>>) =>
        s.bob.calling.reject({ inviteID: s.inviteID, isBusy: true, callType: 2 }),
    ],
  ])('closes on both sides when the call is %s', async (_, end) => {
    const s = await ringing({ preconnect: true });
    const aliceSession = await negotiated(s.alice.media, s.bob.userID);
    const bobSession = await negotiated(s.bob.media, s.alice.userID);
    await end(s);
    await expect.poll(() => aliceSession.closed && bobSession.closed).toBe(true);
    expect(s.alice.calling.getCallStatus()).toBe('idle');
    await expect.poll(() => s.bob.calling.getCallStatus()).toBe('idle');
  });

  it('closes on both sides when the invitation times out', async () => {
    const alice = await user('alice', { preconnect: true });
    const bob = await user('bob', { preconnect: true });
    await alice.calling.call({ userID: bob.userID, type: 1, timeout: 1 });
    const aliceSession = await negotiated(alice.media, bob.userID);
    const bobSession = await negotiated(bob.media, alice.userID);
    await bob.events.next(E.CALLING_TIMEOUT);
    await alice.events.next(E.NO_RESP);
    expect(aliceSession.closed && bobSession.closed).toBe(true);
  });

  it('a pre-connection that fails is dropped without an error; the answer connects anew', async () => {
    const { alice, bob } = await ringing({ preconnect: true });
    const aliceSession = await negotiated(alice.media, bob.userID);
    const bobSession = await negotiated(bob.media, alice.userID);
    aliceSession.fail(bob.userID);
    bobSession.fail(alice.userID);
    expect(aliceSession.closed && bobSession.closed).toBe(true);
    expect(alice.calling.getCallStatus()).toBe('calling');

    await bob.calling.accept();
    await alice.events.next(E.USER_ENTER);
    const fresh = await negotiated(alice.media, bob.userID);
    expect(fresh).not.toBe(aliceSession);
    expect(fresh.localTracks.video).not.toBeNull();
    expect([...alice.events.names, ...bob.events.names]).not.toContain(E.ERROR);
  });

  it.each([
    ['callee', 'bob', 'alice'],
    ['caller', 'alice', 'bob'],
  ] as const)(
    "the %s's pre-connection alone fails: the other side drops its own too; the answer connects both anew",
    async (_, failing, other) => {
      const s = await ringing({ preconnect: true });
      const sessions = {
        alice: await negotiated(s.alice.media, s.bob.userID),
        bob: await negotiated(s.bob.media, s.alice.userID),
      };
      sessions[failing].fail(s[other].userID);
      await expect.poll(() => sessions[other].closed).toBe(true);
      expect(s.alice.calling.getCallStatus()).toBe('calling');

      await s.bob.calling.accept();
      await s.alice.events.next(E.USER_ENTER);
      const fresh = {
        alice: await negotiated(s.alice.media, s.bob.userID),
        bob: await negotiated(s.bob.media, s.alice.userID),
      };
      for (const name of ['alice', 'bob'] as const) {
        expect(fresh[name]).not.toBe(sessions[name]);
        expect(fresh[name].localTracks.video).not.toBeNull();
      }
      expect([...s.alice.events.names, ...s.bob.events.names]).not.toContain(E.ERROR);
    },
  );

  it("the caller's pre-connection fails as the callee answers: the callee's is replaced, and the caller's new offer reaches it", async () => {
    const s = await ringing({ preconnect: true });
    const aliceSession = await negotiated(s.alice.media, s.bob.userID);
    const bobSession = await negotiated(s.bob.media, s.alice.userID);
    // alice's signals (her "closed" first) are held back until bob's answer is in.
    const heldBack: string[] = [];
    let holding = true;
    s.alice.network.drop = (frame) => {
      if (!holding || frame.type !== 'signal') return false;
      heldBack.push(JSON.stringify(frame));
      return true;
    };
    aliceSession.fail(s.bob.userID);
    await s.bob.calling.accept();
    expect(bobSession.closed).toBe(false);
    holding = false;
    for (const frame of heldBack) s.alice.network.current.send(frame);

    await expect.poll(() => bobSession.closed).toBe(true);
    const fresh = await negotiated(s.bob.media, s.alice.userID);
    expect(fresh).not.toBe(bobSession);
    expect(fresh.peers.get(s.alice.userID)).toEqual({ initiator: false });
    expect(fresh.localTracks.video).not.toBeNull();
    expect((await negotiated(s.alice.media, s.bob.userID)).localTracks.video).not.toBeNull();
    expect(s.bob.calling.getCallStatus()).toBe('connected');
    expect([...s.alice.events.names, ...s.bob.events.names]).not.toContain(E.ERROR);
  });

  it('a callee whose pre-connection cannot even start does not ask the caller for one; the answer connects as usual', async () => {
    const { alice, bob } = await ringing(
      { preconnect: true },
      { preconnect: true, media: refusingOneSession() },
    );
    expect(bob.media.sessions).toEqual([]);

    await bob.calling.accept();
    await alice.events.next(E.USER_ENTER);
    // alice's first session is the one made at the answer, with her tracks: no pre-connection.
    const session = await negotiated(alice.media, bob.userID);
    expect(alice.media.sessions).toEqual([session]);
    expect(session.localTracks.video).not.toBeNull();
    await negotiated(bob.media, alice.userID);
    expect([...alice.events.names, ...bob.events.names]).not.toContain(E.ERROR);
  });

  it('a caller whose pre-connection cannot start tells the callee, who drops its own; the answer connects as usual', async () => {
    const { alice, bob } = await ringing(
      { preconnect: true, media: refusingOneSession() },
      { preconnect: true },
    );
    await expect.poll(() => bob.media.sessions.length).toBe(1);
    const bobSession = bob.media.session;
    await expect.poll(() => bobSession.closed).toBe(true);
    expect(alice.media.sessions).toEqual([]);

    await bob.calling.accept();
    await alice.events.next(E.USER_ENTER);
    expect((await negotiated(alice.media, bob.userID)).localTracks.video).not.toBeNull();
    expect(await negotiated(bob.media, alice.userID)).not.toBe(bobSession);
    expect([...alice.events.names, ...bob.events.names]).not.toContain(E.ERROR);
  });

  it('refuses an option that is not true, false or auto', () => {
    expect(
      () =>
        new TRTCCalling({
          SDKAppID: server().server.sdkAppID,
          server: server().server.url,
          preconnect: 'yes' as unknown as boolean,
        }),
    ).toThrow(expect.objectContaining({ message: expect.stringMatching(/preconnect/) }));
  });
});
