/**
 * When the media sessions restart ICE and when they give a connection up, driven through a
 * scripted RTCPeerConnection (its connectionState set by the test) and a manual clock. Real ICE
 * restarts in Chromium are proven by e2e/ice-restart.e2e.ts.
 */
import { MediaMode, type IceServer } from '@ringline/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../test-support/manualClock.test-support.js';
import { createLogger } from '../util/logger.js';
import { SessionEvent, type SessionOptions, type SfuSignalling } from './MediaSession.js';
import { P2PSession } from './P2PSession.js';
import { SfuSession } from './SfuSession.js';

type Description = { type: 'offer' | 'answer' | 'rollback'; sdp?: string };

/** An RTCPeerConnection whose connection state the test sets; it records what the session asks. */
class ScriptedPeerConnection {
  static made: ScriptedPeerConnection[] = [];
  config: RTCConfiguration;
  connectionState: RTCPeerConnectionState = 'new';
  signalingState: RTCSignalingState = 'stable';
  localDescription: Description | null = null;
  remoteDescription: Description | null = null;
  restartIceCalls = 0;
  readonly offers: RTCOfferOptions[] = [];
  readonly transceivers: unknown[] = [];
  closed = false;
  onnegotiationneeded: (() => void) | null = null;
  onicecandidate: ((e: { candidate: unknown }) => void) | null = null;
  ontrack: ((e: { track: unknown; receiver: unknown }) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  onsignalingstatechange: (() => void) | null = null;

  constructor(config: RTCConfiguration) {
    this.config = { ...config };
    ScriptedPeerConnection.made.push(this);
  }

  getConfiguration(): RTCConfiguration {
    return { ...this.config };
  }

  setConfiguration(config: RTCConfiguration): void {
    this.config = { ...config };
  }

  /** Every `active` value set on a video encoding, in order. */
  readonly activeSet: boolean[] = [];
  /** When the peer's audio last arrived (what the audio receiver's sources report). */
  audioAt: number | undefined;

  addTransceiver(trackOrKind: string | { kind: string }, init: RTCRtpTransceiverInit = {}) {
    const kind = typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind;
    let encodings = (init.sendEncodings ?? [{}]).map((e) => ({ active: true, ...e }));
    const transceiver = {
      mid: null,
      direction: init.direction,
      sender: {
        track: typeof trackOrKind === 'string' ? null : trackOrKind,
        replaceTrack: async () => {},
        getParameters: () => ({ encodings: encodings.map((e) => ({ ...e })) }),
        setParameters: async (params: { encodings: { active: boolean }[] }) => {
          if (kind === 'video' && params.encodings[0]!.active !== encodings[0]!.active) {
            this.activeSet.push(params.encodings[0]!.active);
          }
          encodings = params.encodings.map((e) => ({ ...e }));
        },
      },
      receiver: {
        track: { kind },
        getSynchronizationSources: () =>
          kind === 'audio' && this.audioAt !== undefined ? [{ timestamp: this.audioAt }] : [],
      },
    };
    this.transceivers.push(transceiver);
    return transceiver;
  }

  getTransceivers() {
    return this.transceivers;
  }

  /** The peer's track arrives, on a transceiver its offer made (what `audioAt` reports for audio). */
  peerTrack(kind: 'audio' | 'video'): void {
    const { receiver } = this.addTransceiver(kind, { direction: 'recvonly' });
    this.ontrack?.({ track: receiver.track, receiver });
  }

  /** A receiving transceiver with a mid (an SFU subscriber's), whose audio arrival the test sets. */
  addReceiver(mid: string, kind: 'audio' | 'video') {
    const transceiver = {
      mid,
      receiver: {
        track: { kind, id: `track-${mid}` },
        audioAt: undefined as number | undefined,
        getSynchronizationSources(): { timestamp: number }[] {
          return this.audioAt === undefined ? [] : [{ timestamp: this.audioAt }];
        },
      },
    };
    this.transceivers.push(transceiver);
    return transceiver.receiver;
  }

  restartIce(): void {
    this.restartIceCalls++;
    queueMicrotask(() => this.onnegotiationneeded?.());
  }

  async createOffer(options: RTCOfferOptions = {}) {
    this.offers.push(options);
    return { type: 'offer' as const, sdp: `offer ${this.offers.length}` };
  }

  async createAnswer() {
    return { type: 'answer' as const, sdp: 'answer' };
  }

  async setLocalDescription(description?: Description): Promise<void> {
    if (description?.type === 'rollback') {
      this.signalingState = 'stable';
      return;
    }
    const made: Description = description ?? {
      type: this.signalingState === 'have-remote-offer' ? 'answer' : 'offer',
      sdp: `implicit, after ${this.restartIceCalls} restartIce`,
    };
    this.localDescription = made;
    this.signalingState = made.type === 'offer' ? 'have-local-offer' : 'stable';
  }

  async setRemoteDescription(description: Description): Promise<void> {
    this.remoteDescription = description;
    this.signalingState = description.type === 'offer' ? 'have-remote-offer' : 'stable';
  }

  async addIceCandidate(): Promise<void> {}

  async getStats() {
    return new Map();
  }

  close(): void {
    this.closed = true;
  }

  /** The browser reports a new connection state. */
  set(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.onconnectionstatechange?.();
  }
}

const PC = ScriptedPeerConnection as unknown as typeof RTCPeerConnection;
const log = createLogger('silent');
const turn: IceServer[] = [{ urls: 'turn:100.64.0.1:3478', username: 'u1', credential: 'p1' }];
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function options(clock: ManualClock, extra: Partial<SessionOptions> = {}): SessionOptions {
  return {
    media: MediaMode.P2P,
    iceServers: turn,
    iceTransportPolicy: 'all',
    localTracks: { audio: null, video: null },
    maxVideoBitrate: 1_000_000,
    logger: log,
    clock,
    ...extra,
  };
}

afterEach(() => {
  ScriptedPeerConnection.made = [];
});

describe('P2PSession', () => {
  function p2p(initiator: boolean, extra: Partial<SessionOptions> = {}) {
    const clock = new ManualClock();
    const session = new P2PSession(options(clock, extra), PC);
    const offers: string[] = [];
    const failed: string[] = [];
    session.events.on(SessionEvent.Signal, (_to, data) => {
      if (data.description?.type === 'offer') offers.push(data.description.sdp ?? '');
    });
    session.events.on(SessionEvent.Failed, (_who, reason) => failed.push(reason));
    session.addPeer('bob', { initiator });
    const pc = ScriptedPeerConnection.made.at(-1)!;
    pc.peerTrack('audio');
    return { clock, session, pc, offers, failed };
  }

  it('the callee sends on transceivers of its own, added once it answered the caller (never on the offer’s)', async () => {
    const clock = new ManualClock();
    const session = new P2PSession(options(clock), PC);
    session.addPeer('alice', { initiator: false });
    const pc = ScriptedPeerConnection.made.at(-1)!;
    expect(pc.transceivers).toEqual([]); // nothing of its own before the caller's offer
    pc.peerTrack('audio');
    pc.peerTrack('video');
    await session.handleSignal('alice', { description: { type: 'offer', sdp: 'offer' } });
    expect(pc.localDescription?.type).toBe('answer');
    const own = pc.transceivers.slice(2) as { direction: string; sender: unknown }[];
    expect(own.map((t) => t.direction)).toEqual(['sendrecv', 'sendrecv']);
    const camera = { kind: 'video' } as unknown as MediaStreamTrack;
    await session.setLocalTrack('video', camera);
    expect(pc.transceivers).toHaveLength(4); // replaceTrack on its own, nothing added
    session.close();
  });

  it('makes its connection with the ICE servers and the transport policy it was given', () => {
    const { pc, session } = p2p(true, { iceTransportPolicy: 'relay' });
    expect(pc.config).toMatchObject({ iceServers: turn, iceTransportPolicy: 'relay' });
    session.close();
  });

  describe('the caller (impolite side)', () => {
    it('restarts ICE once disconnected past the grace time: a new offer goes out', async () => {
      const { clock, session, pc, offers } = p2p(true);
      pc.set('connected');
      await settle();
      const before = offers.length;
      pc.set('disconnected');
      clock.advance(1_000);
      expect(pc.restartIceCalls).toBe(0);
      clock.advance(500);
      expect(pc.restartIceCalls).toBe(1);
      await settle();
      expect(offers.length).toBe(before + 1);
      expect(session.connectionDown).toBe(true);
      pc.set('connected');
      expect(session.connectionDown).toBe(false);
      session.close();
    });

    it('keeps restarting with backoff while the path is down, then reports Failed', () => {
      const { clock, session, pc, failed } = p2p(true, {
        connection: { recoveryTimeoutMs: 8_000 },
      });
      pc.set('connected');
      pc.set('failed');
      clock.advance(7_999);
      expect(pc.restartIceCalls).toBe(5); // at 0, 1 s, 3 s, 5 s, 7 s
      expect(failed).toEqual([]);
      clock.advance(1);
      expect(failed).toEqual([expect.stringContaining('8000')]);
      session.close();
    });
  });

  it('once the path is back, restarts the video encoding so the peer gets a keyframe at once', async () => {
    const camera = { kind: 'video' } as unknown as MediaStreamTrack;
    const { clock, session, pc } = p2p(true, { localTracks: { audio: null, video: camera } });
    pc.set('connected');
    await settle();
    expect(pc.activeSet).toEqual([]);
    pc.set('disconnected');
    clock.advance(1_500);
    pc.set('connected');
    await settle();
    expect(pc.activeSet).toEqual([false, true]);
    session.close();
  });

  it('audio from the peer that stops for a second and comes back restarts the video encoding (a short outage Chromium does not report)', async () => {
    const camera = { kind: 'video' } as unknown as MediaStreamTrack;
    const { clock, session, pc } = p2p(true, { localTracks: { audio: null, video: camera } });
    pc.set('connected');
    for (let t = 1; t <= 8; t++) {
      pc.audioAt = t * 20;
      clock.advance(250);
    }
    await settle();
    expect(pc.activeSet).toEqual([]); // audio flowing: nothing to do
    clock.advance(3_000); // the path is down: no audio arrives
    await settle();
    expect(pc.activeSet).toEqual([]);
    pc.audioAt = 5_000;
    clock.advance(250);
    await settle();
    expect(pc.activeSet).toEqual([false, true]);
    session.close();
    expect(clock.pending).toBe(0);
  });

  describe('media that stops before Chromium notices (a changed address)', () => {
    /** A connected caller with a camera whose peer's audio has been arriving. */
    async function flowing(peerAudio: boolean, extra: Partial<SessionOptions> = {}) {
      const camera = { kind: 'video' } as unknown as MediaStreamTrack;
      const setup = p2p(true, { localTracks: { audio: null, video: camera }, ...extra });
      const stalled: string[] = [];
      setup.session.events.on(SessionEvent.MediaStalled, (who) => stalled.push(who));
      setup.session.setRemoteMedia('bob', { audio: peerAudio, video: true });
      setup.pc.remoteDescription = { type: 'answer', sdp: 'answer' };
      setup.pc.set('connected');
      for (let t = 1; t <= 4; t++) {
        setup.pc.audioAt = t * 20;
        setup.clock.advance(250);
      }
      await settle();
      return { ...setup, stalled };
    }

    it('the peer’s audio (on) silent for a second: ICE restarts at once and MediaStalled goes up', async () => {
      const { clock, session, pc, offers, stalled } = await flowing(true);
      clock.advance(750);
      expect(pc.restartIceCalls).toBe(0);
      clock.advance(250);
      expect(pc.restartIceCalls).toBe(1);
      expect(stalled).toEqual(['bob']);
      await settle();
      expect(offers.at(-1)).toMatch(/after 1 restartIce/);
      expect(session.connectionDown).toBe(false); // suspected, not (yet) lost
      // The audio is back: a keyframe, and no more restarts while it flows.
      pc.audioAt = 10_000;
      clock.advance(250);
      await settle();
      expect(pc.activeSet).toEqual([false, true]);
      const made = pc.restartIceCalls;
      for (let i = 0; i < 120; i++) {
        pc.audioAt += 20;
        clock.advance(250);
      }
      expect(pc.restartIceCalls).toBe(made);
      expect(stalled).toEqual(['bob']);
      session.close();
      expect(clock.pending).toBe(0);
    });

    it('a muted peer (audio off) is silent without any restart', async () => {
      const { clock, session, pc, stalled } = await flowing(false);
      clock.advance(30_000);
      expect(pc.restartIceCalls).toBe(0);
      expect(stalled).toEqual([]);
      session.close();
    });

    it('a peer who turns the audio on after a silence is given a fresh second', async () => {
      const { clock, session, pc, stalled } = await flowing(false);
      clock.advance(5_000);
      session.setRemoteMedia('bob', { audio: true, video: true });
      clock.advance(750);
      expect(stalled).toEqual([]);
      clock.advance(250);
      expect(stalled).toEqual(['bob']);
      expect(pc.restartIceCalls).toBe(1);
      session.close();
    });

    it('the callee reports the silence (the engine probes its socket) but leaves the restart to the caller', async () => {
      const clock = new ManualClock();
      const session = new P2PSession(options(clock), PC);
      const stalled: string[] = [];
      session.events.on(SessionEvent.MediaStalled, (who) => stalled.push(who));
      session.addPeer('alice', { initiator: false });
      const pc = ScriptedPeerConnection.made.at(-1)!;
      pc.peerTrack('audio');
      pc.peerTrack('video');
      await session.handleSignal('alice', { description: { type: 'offer', sdp: 'offer' } });
      session.setRemoteMedia('alice', { audio: true, video: false });
      pc.set('connected');
      pc.audioAt = 20;
      clock.advance(250);
      clock.advance(1_000);
      expect(stalled).toEqual(['alice']);
      clock.advance(10_000);
      expect(pc.restartIceCalls).toBe(0);
      session.close();
    });
  });

  describe('a restart offer lost with the signalling socket', () => {
    const slowRetries = { connection: { restartIntervalMs: 60_000, maxRestartIntervalMs: 60_000 } };

    it('unanswered for 3 s: the same offer goes out again; an answered one is left alone', async () => {
      const { clock, session, pc, offers } = p2p(true, slowRetries);
      pc.remoteDescription = { type: 'answer', sdp: 'answer' };
      pc.set('connected');
      pc.set('failed');
      await settle();
      expect(offers).toHaveLength(1);
      expect(pc.signalingState).toBe('have-local-offer');
      clock.advance(2_999);
      await settle();
      expect(offers).toHaveLength(1);
      clock.advance(1);
      await settle();
      // Not a new offer: the first may yet arrive, and its answer must fit what we hold.
      expect(offers).toEqual([offers[0], offers[0]]);
      expect(pc.restartIceCalls).toBe(1);
      clock.advance(3_000);
      await settle();
      expect(offers).toHaveLength(3);
      await session.handleSignal('bob', { description: { type: 'answer', sdp: 'answer 2' } });
      expect(pc.signalingState).toBe('stable');
      clock.advance(10_000);
      await settle();
      expect(offers).toHaveLength(3);
      // The peer answers each copy: the second answer finds us stable and is ignored, not an error.
      const errors: Error[] = [];
      session.events.on(SessionEvent.Error, (_who, error) => errors.push(error));
      await session.handleSignal('bob', { description: { type: 'answer', sdp: 'answer 2' } });
      expect(errors).toEqual([]);
      expect(pc.remoteDescription).toEqual({ type: 'answer', sdp: 'answer 2' });
      session.close();
      expect(clock.pending).toBe(0);
    });

    it('a retry while the restart offer is out queues no second restart (it would move the connection again as it comes back)', async () => {
      const { clock, session, pc, offers } = p2p(true);
      pc.remoteDescription = { type: 'answer', sdp: 'answer' };
      pc.set('connected');
      pc.set('failed');
      await settle();
      expect(pc.restartIceCalls).toBe(1);
      clock.advance(1_000); // the watchdog's retry: the offer is still out
      await settle();
      expect(pc.restartIceCalls).toBe(1);
      expect(offers).toHaveLength(1);
      await session.handleSignal('bob', { description: { type: 'answer', sdp: 'answer 1' } });
      clock.advance(2_000); // answered, and still down: the next retry restarts again
      await settle();
      expect(pc.restartIceCalls).toBe(2);
      expect(offers).toHaveLength(2);
      session.close();
    });

    it('resync() (the signalling resumed) with our offer pending: the same offer goes out again at once', async () => {
      const { session, pc, offers } = p2p(true, slowRetries);
      pc.remoteDescription = { type: 'answer', sdp: 'answer' };
      pc.set('connected');
      pc.set('failed');
      await settle();
      expect(offers).toHaveLength(1);
      session.resync();
      await settle();
      expect(offers).toEqual([offers[0], offers[0]]);
      expect(pc.restartIceCalls).toBe(1);
      expect(pc.signalingState).toBe('have-local-offer');
      session.close();
    });

    it('resync() with the connection down and no offer pending restarts ICE (caller only)', async () => {
      const caller = p2p(true, slowRetries);
      caller.pc.remoteDescription = { type: 'answer', sdp: 'answer' };
      caller.pc.set('connected');
      caller.pc.connectionState = 'disconnected'; // not yet past the grace time
      caller.session.resync();
      expect(caller.pc.restartIceCalls).toBe(1);
      caller.session.close();

      const callee = p2p(false, slowRetries);
      callee.pc.set('connected');
      callee.pc.connectionState = 'disconnected';
      callee.session.resync();
      expect(callee.pc.restartIceCalls).toBe(0);
      callee.session.close();
    });

    it('resync() on a healthy connection does nothing', async () => {
      const { session, pc, offers } = p2p(true);
      pc.remoteDescription = { type: 'answer', sdp: 'answer' };
      pc.set('connected');
      session.resync();
      await settle();
      expect(pc.restartIceCalls).toBe(0);
      expect(offers).toEqual([]);
      session.close();
    });
  });

  describe('the callee (polite side)', () => {
    it('never restarts ICE itself (the caller does), but gives up on its own', () => {
      const { clock, session, pc, failed } = p2p(false);
      pc.set('connected');
      pc.set('failed');
      clock.advance(60_000);
      expect(pc.restartIceCalls).toBe(0);
      expect(failed).toHaveLength(1);
      expect(session.connectionDown).toBe(true);
      session.close();
    });
  });

  it('a connection that never connects is restarted, then reported Failed at the connect timeout', () => {
    const { clock, session, pc, failed } = p2p(true);
    pc.set('connecting');
    clock.advance(10_000);
    expect(pc.restartIceCalls).toBe(1);
    clock.advance(20_000);
    expect(failed).toEqual([expect.stringContaining('never connected')]);
    session.close();
  });

  it('setIceConfig gives the live connection the new servers, keeping the rest of its configuration', () => {
    const { session, pc } = p2p(true);
    const fresh: IceServer[] = [{ urls: 'turn:100.64.0.1:3478', username: 'u2', credential: 'p2' }];
    session.setIceConfig(fresh, 'relay');
    expect(pc.config).toEqual({
      iceServers: fresh,
      iceTransportPolicy: 'relay',
      bundlePolicy: 'max-bundle',
    });
    session.close();
  });

  it('once closed, nothing restarts and nothing is reported', () => {
    const { clock, session, pc, failed } = p2p(true);
    pc.set('connected');
    session.close();
    pc.set('failed');
    clock.advance(120_000);
    expect(pc.restartIceCalls).toBe(0);
    expect(failed).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});

describe('SfuSession', () => {
  class Sfu implements SfuSignalling {
    readonly published: string[] = [];
    failPublishes = 0;
    readonly trickled: string[] = [];
    restarts = 0;
    failRestarts = 0;
    async publish(offer: { type: 'offer'; sdp: string }) {
      this.published.push(offer.sdp);
      if (this.published.length > 1 && this.failPublishes-- > 0) throw new Error('SFU_UNAVAILABLE');
      return { type: 'answer' as const, sdp: 'sfu answer' };
    }
    async answer() {}
    async trickle(target: 'publisher' | 'subscriber') {
      this.trickled.push(target);
    }
    readonly layers: string[] = [];
    async setLayer(userID: string, substream: number) {
      this.layers.push(`${userID}:${substream}`);
    }
    async restartSubscriber() {
      this.restarts++;
      if (this.failRestarts-- > 0) throw new Error('INVALID_CALL_STATE');
    }
  }

  async function sfuSession(extra: Partial<SessionOptions> = {}) {
    const clock = new ManualClock();
    const sfu = new Sfu();
    const session = new SfuSession(options(clock, { media: MediaMode.SFU, sfu, ...extra }), PC);
    const failed: string[] = [];
    session.events.on(SessionEvent.Failed, (who, reason) => failed.push(`${who}: ${reason}`));
    session.start();
    await settle();
    const publisher = ScriptedPeerConnection.made[0]!;
    await session.handleSfuOffer({ description: { type: 'offer', sdp: 'sfu offer' }, streams: [] });
    const subscriber = ScriptedPeerConnection.made[1]!;
    return { clock, sfu, session, publisher, subscriber, failed };
  }

  it('makes both connections with the transport policy it was given', async () => {
    const { session, publisher, subscriber } = await sfuSession({ iceTransportPolicy: 'relay' });
    for (const pc of [publisher, subscriber]) {
      expect(pc.config).toMatchObject({ iceServers: turn, iceTransportPolicy: 'relay' });
    }
    session.close();
  });

  it('a lost publisher sends a new offer with iceRestart through sfuPublish', async () => {
    const { clock, sfu, session, publisher } = await sfuSession();
    publisher.set('connected');
    publisher.set('disconnected');
    clock.advance(1_500);
    await settle();
    expect(publisher.offers.at(-1)).toEqual({ iceRestart: true });
    expect(sfu.published).toHaveLength(2);
    expect(publisher.remoteDescription).toEqual({ type: 'answer', sdp: 'sfu answer' });
    // Candidates of the restart go out once the SFU answered.
    publisher.onicecandidate?.({
      candidate: { candidate: 'candidate:2 1 udp 1 10.0.0.2 9 typ host' },
    });
    expect(sfu.trickled).toContain('publisher');
    session.close();
  });

  it('a publisher restart the SFU refuses is rolled back and tried again', async () => {
    const { clock, sfu, session, publisher } = await sfuSession();
    sfu.failPublishes = 1;
    publisher.set('connected');
    publisher.set('failed');
    await settle();
    await settle();
    expect(sfu.published).toHaveLength(2);
    expect(publisher.signalingState).toBe('stable');
    clock.advance(1_000);
    await settle();
    await settle();
    expect(sfu.published).toHaveLength(3);
    expect(publisher.remoteDescription).toEqual({ type: 'answer', sdp: 'sfu answer' });
    session.close();
  });

  it('a lost subscriber asks for sfuRestart, retrying when the server refuses', async () => {
    const { clock, sfu, session, subscriber } = await sfuSession();
    sfu.failRestarts = 1;
    subscriber.set('connected');
    subscriber.set('failed');
    await settle();
    expect(sfu.restarts).toBe(1);
    clock.advance(1_000);
    await settle();
    expect(sfu.restarts).toBe(2);
    // The SFU's new offer arrives as sfuOffer and is answered like any other.
    await session.handleSfuOffer({ description: { type: 'offer', sdp: 'restart' }, streams: [] });
    subscriber.set('connected');
    expect(session.connectionDown).toBe(false);
    clock.advance(60_000);
    expect(sfu.restarts).toBe(2);
    session.close();
  });

  it('a connection to the SFU that does not come back is reported Failed, naming it', async () => {
    const { clock, session, subscriber, failed } = await sfuSession();
    subscriber.set('connected');
    subscriber.set('failed');
    clock.advance(20_000);
    expect(failed).toEqual([expect.stringMatching(/^sfu:subscriber: not back/)]);
    session.close();
  });

  it('setIceConfig updates both live connections', async () => {
    const { session, publisher, subscriber } = await sfuSession();
    const fresh: IceServer[] = [{ urls: 'turn:100.64.0.1:3478', username: 'u2', credential: 'p2' }];
    session.setIceConfig(fresh, 'all');
    for (const pc of [publisher, subscriber]) {
      expect(pc.config).toMatchObject({ iceServers: fresh, bundlePolicy: 'max-bundle' });
    }
    session.close();
  });

  describe('media that stops before Chromium notices (a changed address)', () => {
    /** Members' audio on the subscriber, announced by an offer, arriving until the test stops it. */
    async function withMembers(users: string[]) {
      const setup = await sfuSession();
      const stalled: string[] = [];
      setup.session.events.on(SessionEvent.MediaStalled, (who) => stalled.push(who));
      const receivers = users.map((u) => setup.subscriber.addReceiver(`a-${u}`, 'audio'));
      await setup.session.handleSfuOffer({
        description: { type: 'offer', sdp: 'with members' },
        streams: users.map((userID) => ({ mid: `a-${userID}`, userID, kind: 'audio' as const })),
      });
      for (const u of users) setup.session.setRemoteMedia(u, { audio: true, video: false });
      setup.publisher.set('connected');
      setup.subscriber.set('connected');
      const arrive = (which = receivers) => {
        for (const r of which) r.audioAt = (r.audioAt ?? 0) + 20;
      };
      for (let i = 0; i < 4; i++) {
        arrive();
        setup.clock.advance(250);
      }
      return { ...setup, stalled, receivers, arrive };
    }

    it('every member silent for a second: both connections restart ICE and MediaStalled goes up', async () => {
      const { clock, sfu, session, publisher, stalled, arrive } = await withMembers([
        'bob',
        'carol',
      ]);
      const published = sfu.published.length;
      clock.advance(1_000);
      await settle();
      expect(stalled).toEqual(['sfu']);
      expect(sfu.restarts).toBe(1);
      expect(sfu.published).toHaveLength(published + 1);
      expect(publisher.offers.at(-1)).toEqual({ iceRestart: true });
      // Heard again: no more restarts while it flows.
      for (let i = 0; i < 120; i++) {
        arrive();
        clock.advance(250);
      }
      await settle();
      expect(sfu.restarts).toBe(1);
      expect(session.connectionDown).toBe(false);
      session.close();
      expect(clock.pending).toBe(0);
    });

    it('one member silent while another is heard: their path, not ours — nothing restarts', async () => {
      const { clock, sfu, session, stalled, receivers, arrive } = await withMembers([
        'bob',
        'carol',
      ]);
      for (let i = 0; i < 20; i++) {
        arrive([receivers[1]!]);
        clock.advance(250);
      }
      await settle();
      expect(stalled).toEqual([]);
      expect(sfu.restarts).toBe(0);
      session.close();
    });

    it('a member heard again after a third of a second: our video restarts its encoding, and each remote video is switched to another layer and back (the SFU then asks its publisher for a keyframe)', async () => {
      const camera = { kind: 'video' } as unknown as MediaStreamTrack;
      const clock = new ManualClock();
      const sfu = new Sfu();
      const session = new SfuSession(
        options(clock, {
          media: MediaMode.SFU,
          sfu,
          localTracks: { audio: null, video: camera },
        }),
        PC,
      );
      session.start();
      await settle();
      const publisher = ScriptedPeerConnection.made[0]!;
      await session.handleSfuOffer({
        description: { type: 'offer', sdp: 'sfu offer' },
        streams: [],
      });
      const subscriber = ScriptedPeerConnection.made[1]!;
      const audio = subscriber.addReceiver('a1', 'audio');
      subscriber.addReceiver('v1', 'video');
      await session.handleSfuOffer({
        description: { type: 'offer', sdp: 'with bob' },
        streams: [
          { mid: 'a1', userID: 'bob', kind: 'audio' },
          { mid: 'v1', userID: 'bob', kind: 'video' },
        ],
      });
      await settle();
      expect(sfu.layers).toEqual(['bob:0']);
      audio.audioAt = 20;
      clock.advance(100);
      clock.advance(200); // a gap too short to count
      audio.audioAt = 40;
      clock.advance(100);
      await settle();
      expect(publisher.activeSet).toEqual([]);
      clock.advance(300);
      audio.audioAt = 60;
      clock.advance(100);
      await settle();
      await settle();
      expect(publisher.activeSet).toEqual([false, true]);
      expect(sfu.layers).toEqual(['bob:0', 'bob:1', 'bob:0']);
      // Once more a second later (the first request may have met a path not back yet).
      for (let i = 0; i < 10; i++) {
        audio.audioAt += 20;
        clock.advance(100);
      }
      await settle();
      await settle();
      expect(publisher.activeSet).toEqual([false, true, false, true]);
      expect(sfu.layers).toEqual(['bob:0', 'bob:1', 'bob:0', 'bob:1', 'bob:0']);
      session.close();
      expect(clock.pending).toBe(0);
    });

    it('members with their audio off are not expected to be heard', async () => {
      const { clock, sfu, session, stalled } = await withMembers(['bob']);
      session.setRemoteMedia('bob', { audio: false, video: false });
      clock.advance(10_000);
      await settle();
      expect(stalled).toEqual([]);
      expect(sfu.restarts).toBe(0);
      session.close();
    });

    it('resync() (the signalling resumed) restarts a connection that is down at once, and leaves a healthy one', async () => {
      const { clock, sfu, session, publisher, subscriber } = await sfuSession({
        connection: { restartIntervalMs: 60_000, maxRestartIntervalMs: 60_000 },
      });
      publisher.set('connected');
      subscriber.set('connected');
      subscriber.set('failed');
      await settle();
      expect(sfu.restarts).toBe(1);
      const published = sfu.published.length;
      session.resync();
      await settle();
      expect(sfu.restarts).toBe(2);
      expect(sfu.published).toHaveLength(published);
      session.close();
      expect(clock.pending).toBe(0);
    });
  });

  it('resetSfu drops the old watchdogs with the old connections', async () => {
    const { clock, sfu, session, subscriber, failed } = await sfuSession();
    subscriber.set('connected');
    subscriber.set('failed');
    await settle();
    const restarts = sfu.restarts;
    session.resetSfu();
    clock.advance(60_000);
    await settle();
    expect(sfu.restarts).toBe(restarts);
    expect(failed.filter((f) => f.startsWith('sfu:subscriber'))).toEqual([]);
    session.close();
  });
});
