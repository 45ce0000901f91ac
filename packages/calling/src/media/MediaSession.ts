import type {
  IceServer,
  IceTransportPolicy,
  MediaMode,
  PushPayloads,
  SignalData,
} from '@ringline/protocol';
import type { TypedEmitter } from '../events/Emitter.js';
import type { MediaKind } from '../errors.js';
import type { Logger } from '../util/logger.js';
import type { ConnectionTimings, WatchdogClock } from './ConnectionWatchdog.js';
import type { NetworkQuality } from './networkQuality.js';

/** Events a media session reports to the engine. */
export enum SessionEvent {
  /** SDP or ICE to deliver to another member through the server (`signal`). */
  Signal = 'signal',
  /** A remote member's track arrived. */
  Track = 'track',
  /** The transport to a member changed state (RTCPeerConnectionState). */
  ConnectionState = 'connectionState',
  /** Negotiation with a member failed; the call may have no media. */
  Error = 'error',
  /**
   * A media connection (with a P2P member, or to the SFU) never connected or did not come back
   * after ICE restarts: the call cannot go on here.
   */
  Failed = 'failed',
  /**
   * Media from a member whose audio is on stopped arriving (for about a second) while the
   * connection still looks up: the network path may be dead — and the signalling socket with it,
   * which the engine then checks at once. The session restarts ICE by itself.
   */
  MediaStalled = 'mediaStalled',
}

/** Listener signatures of session events. */
export interface SessionCallbacks {
  [SessionEvent.Signal]: (to: string, data: SignalData) => void;
  /** `receiver` (when known) gives the track's audio level without Web Audio. */
  [SessionEvent.Track]: (
    userID: string,
    track: MediaStreamTrack,
    receiver?: RTCRtpReceiver,
  ) => void;
  [SessionEvent.ConnectionState]: (userID: string, state: RTCPeerConnectionState) => void;
  [SessionEvent.Error]: (userID: string, error: Error) => void;
  /** `userID`: the member, or `sfu:publisher` / `sfu:subscriber`; `reason` says what happened. */
  [SessionEvent.Failed]: (userID: string, reason: string) => void;
  /** `userID`: the member whose audio stopped (P2P), or `sfu` (every member's, through the SFU). */
  [SessionEvent.MediaStalled]: (userID: string) => void;
}

/** A simulcast layer of a remote video: 0 lowest … 2 highest. */
export type Substream = 0 | 1 | 2;

/** An offer for the subscriber connection and which user and kind each mid carries. */
export type SfuOffer = Pick<PushPayloads['sfuOffer'], 'description' | 'streams'>;

/**
 * The SFU requests of one call, sent through the server (clients never talk to the SFU itself).
 * The engine implements it over the SignalClient, bound to the call's ID.
 */
export interface SfuSignalling {
  /** `sfuPublish`: the publisher's offer; resolves with the SFU's answer. */
  publish(offer: { type: 'offer'; sdp: string }): Promise<{ type: 'answer'; sdp: string }>;
  /** `sfuAnswer`: the answer to the latest subscriber offer. */
  answer(answer: { type: 'answer'; sdp: string }): Promise<void>;
  /** `sfuTrickle`: a local ICE candidate (none: gathering finished). */
  trickle(
    target: 'publisher' | 'subscriber',
    candidate:
      { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null } | undefined,
  ): Promise<void>;
  /** `sfuLayer`: which simulcast layer of `userID`'s video to receive. */
  setLayer(userID: string, substream: Substream): Promise<void>;
  /** `sfuRestart`: restart ICE on the subscriber; the SFU's new offer follows as `sfuOffer`. */
  restartSubscriber(): Promise<void>;
}

/** A session's link quality: of what we send, and of what we receive from each member. */
export interface SessionQuality {
  local: NetworkQuality;
  remote: Map<string, NetworkQuality>;
}

/** What the engine hands a new session. */
export interface SessionOptions {
  /** `p2p`: straight to the one other member; `sfu`: publish to / subscribe from the SFU. */
  media: MediaMode;
  /** The SFU requests of the call; present exactly when `media` is `sfu`. */
  sfu?: SfuSignalling | undefined;
  iceServers: IceServer[];
  /** `relay`: only TURN candidates, so no member learns another's IP address. */
  iceTransportPolicy: IceTransportPolicy;
  /** When to restart ICE and when to give a connection up (defaults: defaultConnectionTimings). */
  connection?: Partial<ConnectionTimings> | undefined;
  /** Timers of the connection watchdogs (tests inject fake ones). */
  clock?: WatchdogClock | undefined;
  /** The local tracks to send from the start (null: none yet). */
  localTracks: Record<MediaKind, MediaStreamTrack | null>;
  /** Upper bound of the video encoder's bitrate, bits/s. */
  maxVideoBitrate: number;
  logger: Logger;
}

/**
 * How a call's media flows: peer-to-peer for 1:1 (`P2PSession`) or through the SFU
 * (`SfuSession`). The engine only talks to this interface, so either can serve a call.
 */
export interface MediaSession {
  readonly events: TypedEmitter<SessionCallbacks>;
  readonly closed: boolean;
  /** Starts sending what needs no other member: an SFU session publishes; a P2P one waits. */
  start(): void;
  /**
   * Starts media with a member who joined (or, pre-connecting, with the other side of a ringing
   * invitation). The `initiator` makes the first offer (the caller, once the callee's `userEnter`
   * or `preconnect` arrives); the other side waits for it. A peer already added is left as it is.
   */
  addPeer(userID: string, role: { initiator: boolean }): void;
  /**
   * What `userID` sends, as they announced it (`mediaState`): only audio that is on is expected to
   * keep arriving, so only its stopping means a dead path.
   */
  setRemoteMedia(userID: string, media: { audio: boolean; video: boolean }): void;
  /**
   * The signalling connection came back (resumed): whatever negotiation was under way may have
   * lost messages on the dead socket, so it is made again — a pending offer sent again as it is
   * (P2P), ICE restarted on any connection not `connected` or whose media stopped.
   */
  resync(): void;
  /** Removes a member who left. */
  removePeer(userID: string): void;
  /** Applies SDP or ICE that a member sent through the server. */
  handleSignal(from: string, data: SignalData): Promise<void>;
  /** Sends `track` (or nothing, for null) as the local `kind` track, without renegotiating. */
  setLocalTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void>;
  /** Caps the video encoder's bitrate, bits/s. */
  setMaxVideoBitrate(bps: number): Promise<void>;
  /**
   * New ICE servers (renewed TURN credentials) and policy: used by connections made from now on,
   * and set on live ones so that their next ICE restart uses them.
   */
  setIceConfig(iceServers: IceServer[], iceTransportPolicy: IceTransportPolicy): void;
  /**
   * A media connection is down and ICE restarts have not brought it back yet (or it failed): a
   * call ended meanwhile by the other side is reported as a media failure here too.
   */
  readonly connectionDown: boolean;
  /** SFU: applies a new subscriber offer (answering it); P2P sessions refuse it. */
  handleSfuOffer(offer: SfuOffer): Promise<void>;
  /**
   * SFU: the server re-created the call's room (`sfuReset`): drop both connections and publish
   * again. P2P: nothing to do.
   */
  resetSfu(): void;
  /** SFU: the simulcast layer wanted for `userID`'s video (sent on change); P2P: nothing to do. */
  requestLayer(userID: string, substream: Substream): void;
  /**
   * Link quality since the previous call, from getStats(): `local` for what we send, `remote` for
   * each member whose media we receive (Unknown where nothing is measured yet).
   */
  networkQuality(): Promise<SessionQuality>;
  /** Ends all media of the session. Idempotent. */
  close(): void;
}
