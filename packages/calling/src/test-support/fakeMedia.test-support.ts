/**
 * Test support: a media backend for Node (STYLE #11: a fake handler behind the MediaBackend
 * interface). Tracks are plain objects; sessions exchange made-up SDP and ICE through the real
 * server, so the engine's signalling paths run for real while no media flows. SFU-style sessions
 * publish a made-up offer through `sfuPublish` and answer `sfuOffer`s with made-up SDP.
 */
import type { IceServer, IceTransportPolicy, MediaMode, SignalData } from '@ringline/protocol';
import type { MediaKind } from '../errors.js';
import { TypedEmitter } from '../events/Emitter.js';
import type { MediaBackend } from '../media/MediaBackend.js';
import {
  SessionEvent,
  type MediaSession,
  type SessionCallbacks,
  type SessionOptions,
  type SessionQuality,
  type SfuOffer,
  type Substream,
} from '../media/MediaSession.js';
import { NetworkQuality } from '../media/networkQuality.js';

let nextTrack = 1;

export class FakeTrack {
  readonly id = `track-${nextTrack++}`;
  enabled = true;
  readyState: 'live' | 'ended' = 'live';
  constraints: MediaTrackConstraints | boolean;

  constructor(
    readonly kind: MediaKind,
    constraints: MediaTrackConstraints | boolean,
  ) {
    this.constraints = constraints;
  }

  stop(): void {
    this.readyState = 'ended';
  }

  async applyConstraints(constraints: MediaTrackConstraints): Promise<void> {
    this.constraints = constraints;
  }
}

class FakeStream {
  constructor(private readonly tracks: FakeTrack[]) {}
  getTracks() {
    return [...this.tracks];
  }
  getAudioTracks() {
    return this.tracks.filter((t) => t.kind === 'audio');
  }
  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === 'video');
  }
}

/** A media session that answers offers with made-up SDP, relayed through the real server. */
export class FakeSession implements MediaSession {
  readonly events = new TypedEmitter<SessionCallbacks>();
  closed = false;
  readonly peers = new Map<string, { initiator: boolean }>();
  readonly received: { from: string; data: SignalData }[] = [];
  readonly localTracks: Record<MediaKind, MediaStreamTrack | null>;
  maxVideoBitrate: number;
  /** Whether offer/answer completed with each peer. */
  readonly negotiated = new Set<string>();
  readonly media: MediaMode;
  /** SFU: how the made-up publish went (undefined while pending or never started). */
  publishResult: { answer: unknown } | { error: unknown } | undefined;
  /** SFU: the subscriber offers received, in order. */
  readonly sfuOffers: SfuOffer[] = [];
  /** SFU: the layer asked for each remote user. */
  readonly layers = new Map<string, Substream>();
  started = 0;
  /**
   * What `networkQuality()` reports: no media flows, so nothing is measured (Unknown) unless a test
   * sets levels to see them travel through the engine and the facade.
   */
  quality: { local: NetworkQuality; remote: Record<string, NetworkQuality> } = {
    local: NetworkQuality.Unknown,
    remote: {},
  };
  /** How many times the engine read the quality. */
  qualityReads = 0;
  #remoteTracks = new Map<string, FakeTrack>();

  constructor(readonly options: SessionOptions) {
    this.localTracks = { ...options.localTracks };
    this.maxVideoBitrate = options.maxVideoBitrate;
    this.media = options.media;
  }

  start(): void {
    this.started++;
    const sfu = this.options.sfu;
    if (!sfu || this.started > 1) return;
    sfu.publish({ type: 'offer', sdp: 'v=0\r\no=fake-publisher-offer\r\n' }).then(
      (answer) => (this.publishResult = { answer }),
      (error: unknown) => (this.publishResult = { error }),
    );
  }

  async handleSfuOffer(offer: SfuOffer): Promise<void> {
    const sfu = this.options.sfu;
    if (!sfu) throw new Error('not an SFU session');
    this.sfuOffers.push(offer);
    for (const stream of offer.streams) {
      const key = `${stream.mid}/${stream.userID}`;
      if (this.#remoteTracks.has(key)) continue;
      const track = new FakeTrack(stream.kind, true);
      this.#remoteTracks.set(key, track);
      this.events.emit(SessionEvent.Track, stream.userID, track as unknown as MediaStreamTrack);
    }
    await sfu.answer({ type: 'answer', sdp: 'v=0\r\no=fake-subscriber-answer\r\n' });
  }

  requestLayer(userID: string, substream: Substream): void {
    this.layers.set(userID, substream);
  }

  /** What the engine said each member sends (`setRemoteMedia`). */
  readonly remoteMedia = new Map<string, { audio: boolean; video: boolean }>();
  /** Times the engine asked to negotiate again after the signalling resumed. */
  resyncs = 0;

  setRemoteMedia(userID: string, media: { audio: boolean; video: boolean }): void {
    this.remoteMedia.set(userID, { ...media });
  }

  resync(): void {
    this.resyncs++;
  }

  /** SFU: times the engine passed on `sfuReset`. */
  resets = 0;

  resetSfu(): void {
    this.resets++;
    this.#remoteTracks.clear();
    this.sfuOffers.length = 0;
    // Published again, as the real session does.
    this.started = 0;
    this.start();
  }

  addPeer(userID: string, { initiator }: { initiator: boolean }): void {
    if (this.peers.has(userID)) return; // as P2PSession: a pre-connected peer stays as it is
    this.peers.set(userID, { initiator });
    if (initiator) {
      this.events.emit(SessionEvent.Signal, userID, {
        description: { type: 'offer', sdp: 'v=0\r\no=fake-offer\r\n' },
      });
      this.events.emit(SessionEvent.Signal, userID, {
        candidate: {
          candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host',
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
      });
    }
  }

  removePeer(userID: string): void {
    this.peers.delete(userID);
  }

  async handleSignal(from: string, data: SignalData): Promise<void> {
    this.received.push({ from, data });
    if (data.description?.type === 'offer') {
      this.events.emit(SessionEvent.Signal, from, {
        description: { type: 'answer', sdp: 'v=0\r\no=fake-answer\r\n' },
      });
      this.negotiated.add(from);
      this.events.emit(SessionEvent.ConnectionState, from, 'connected');
    } else if (data.description?.type === 'answer') {
      this.negotiated.add(from);
      this.events.emit(SessionEvent.ConnectionState, from, 'connected');
    }
  }

  async setLocalTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void> {
    this.localTracks[kind] = track;
  }

  async setMaxVideoBitrate(bps: number): Promise<void> {
    this.maxVideoBitrate = bps;
  }

  /** The ICE configurations the engine handed over after the session was made, in order. */
  readonly iceConfigs: { iceServers: IceServer[]; iceTransportPolicy: IceTransportPolicy }[] = [];

  setIceConfig(iceServers: IceServer[], iceTransportPolicy: IceTransportPolicy): void {
    this.iceConfigs.push({ iceServers, iceTransportPolicy });
  }

  /** What `connectionDown` says (a test sets it to play a connection that is lost). */
  connectionDown = false;

  /** Plays a media connection that failed for good (the real sessions' watchdog does this). */
  fail(userID: string, reason = 'never connected'): void {
    this.connectionDown = true;
    this.events.emit(SessionEvent.Failed, userID, reason);
  }

  async networkQuality(): Promise<SessionQuality> {
    this.qualityReads++;
    return { local: this.quality.local, remote: new Map(Object.entries(this.quality.remote)) };
  }

  close(): void {
    this.closed = true;
  }
}

/** getUserMedia fails with a DOMException of this name for this kind. */
export type CaptureFailures = Partial<Record<MediaKind, string>>;

export class FakeMediaBackend implements MediaBackend {
  /** Make getUserMedia fail for a kind (DOMException name, e.g. NotFoundError). */
  failures: CaptureFailures = {};
  /** Pretend an API is missing (RTCPeerConnection, or getUserMedia when capture is needed). */
  missing: { peerConnection?: boolean; capture?: boolean } = {};
  readonly captures: MediaStreamConstraints[] = [];
  /** What `captureAllowed` answers (the user allowed the camera and mic before). */
  allowed = true;
  /** Sessions still to refuse: `createSession` throws while this is above 0 (and counts down). */
  refuseSessions = 0;

  async captureAllowed(): Promise<boolean> {
    return this.allowed;
  }
  readonly sessions: FakeSession[] = [];
  readonly tracks: FakeTrack[] = [];

  unsupported({ capture }: { capture: boolean }): string | undefined {
    if (this.missing.peerConnection) return 'RTCPeerConnection';
    if (capture && this.missing.capture) return 'navigator.mediaDevices.getUserMedia';
    return undefined;
  }

  #gate: Promise<void> | undefined;

  /** Holds getUserMedia calls (as an unanswered permission prompt does) until `release()`. */
  hold(): () => void {
    let release!: () => void;
    this.#gate = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.#gate = undefined;
      release();
    };
  }

  async getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream> {
    this.captures.push(constraints);
    if (this.#gate) await this.#gate;
    for (const kind of ['audio', 'video'] as const) {
      const failure = this.failures[kind];
      if (constraints[kind] && failure) throw new DOMException(`fake ${kind} failure`, failure);
    }
    const tracks: FakeTrack[] = [];
    for (const kind of ['audio', 'video'] as const) {
      const wanted = constraints[kind];
      if (wanted) tracks.push(new FakeTrack(kind, wanted));
    }
    this.tracks.push(...tracks);
    return new FakeStream(tracks) as unknown as MediaStream;
  }

  async enumerateDevices(): Promise<MediaDeviceInfo[]> {
    return [
      { deviceId: 'cam-1', groupId: 'g1', kind: 'videoinput', label: 'Fake camera 1' },
      { deviceId: 'cam-2', groupId: 'g2', kind: 'videoinput', label: 'Fake camera 2' },
      { deviceId: 'mic-1', groupId: 'g1', kind: 'audioinput', label: 'Fake microphone' },
      { deviceId: 'spk-1', groupId: 'g1', kind: 'audiooutput', label: 'Fake speaker' },
    ].map((d) => ({ ...d, toJSON: () => d })) as MediaDeviceInfo[];
  }

  createSession(options: SessionOptions): MediaSession {
    if (this.refuseSessions > 0) {
      this.refuseSessions--;
      throw new Error('fake: no peer connection could be made');
    }
    const session = new FakeSession(options);
    this.sessions.push(session);
    return session;
  }

  /** The newest session. */
  get session(): FakeSession {
    const s = this.sessions[this.sessions.length - 1];
    if (!s) throw new Error('no session was created');
    return s;
  }

  /** Tracks not stopped yet. */
  get liveTracks(): FakeTrack[] {
    return this.tracks.filter((t) => t.readyState === 'live');
  }
}
