import type { IceServer, SignalData } from '@ringline/protocol';
import type { TypedEmitter } from '../events/Emitter.js';
import type { MediaKind } from '../errors.js';
import type { Logger } from '../util/logger.js';

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
}

/** Listener signatures of session events. */
export interface SessionCallbacks {
  [SessionEvent.Signal]: (to: string, data: SignalData) => void;
  [SessionEvent.Track]: (userID: string, track: MediaStreamTrack) => void;
  [SessionEvent.ConnectionState]: (userID: string, state: RTCPeerConnectionState) => void;
  [SessionEvent.Error]: (userID: string, error: Error) => void;
}

/** What the engine hands a new session. */
export interface SessionOptions {
  iceServers: IceServer[];
  /** The local tracks to send from the start (null: none yet). */
  localTracks: Record<MediaKind, MediaStreamTrack | null>;
  /** Upper bound of the video encoder's bitrate, bits/s. */
  maxVideoBitrate: number;
  logger: Logger;
}

/**
 * How a call's media flows: peer-to-peer for 1:1 (`P2PSession`), through an SFU later. The engine
 * only talks to this interface, so either can serve a call.
 */
export interface MediaSession {
  readonly events: TypedEmitter<SessionCallbacks>;
  readonly closed: boolean;
  /**
   * Starts media with a member who joined. The `initiator` makes the first offer (the caller, once
   * the callee's `userEnter` arrives); the other side waits for it.
   */
  addPeer(userID: string, role: { initiator: boolean }): void;
  /** Removes a member who left. */
  removePeer(userID: string): void;
  /** Applies SDP or ICE that a member sent through the server. */
  handleSignal(from: string, data: SignalData): Promise<void>;
  /** Sends `track` (or nothing, for null) as the local `kind` track, without renegotiating. */
  setLocalTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void>;
  /** Caps the video encoder's bitrate, bits/s. */
  setMaxVideoBitrate(bps: number): Promise<void>;
  /** Ends all media of the session. Idempotent. */
  close(): void;
}
