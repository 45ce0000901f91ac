import {
  CallEndReason,
  CallType,
  MediaMode,
  SdkErrorCode,
  ServerErrorCode,
  type CallMember,
  type IceConfig,
  type IceServer,
  type IceTransportPolicy,
  type JoinedCall,
  type OfflinePushInfo,
  type SignalData,
} from '@ringline/protocol';
import { CallError, type MediaKind } from '../errors.js';
import { TypedEmitter } from '../events/Emitter.js';
import type { VideoFilter } from '../media/blur/BackgroundBlur.js';
import type { ConnectionTimings } from '../media/ConnectionWatchdog.js';
import { LocalMedia, LocalMediaEvent, type DeviceInfo } from '../media/LocalMedia.js';
import type { MediaBackend } from '../media/MediaBackend.js';
import { NetworkQuality } from '../media/networkQuality.js';
import {
  SessionEvent,
  type MediaSession,
  type SfuSignalling,
  type Substream,
} from '../media/MediaSession.js';
import { videoProfiles, type VideoQuality } from '../media/videoQuality.js';
import {
  SignalClient,
  SignalEvent,
  SignalState,
  type Credentials,
  type Push,
  type SignalClientOptions,
  type SignalClosedInfo,
  type WebSocketConstructor,
} from '../signal/SignalClient.js';
import type { Logger } from '../util/logger.js';
import { AwaitQueue } from './AwaitQueue.js';
import { CallState, callTransitions } from './CallState.js';
import { EngineEvent, type EngineCallbacks, type Invitation } from './EngineEvent.js';
import { StateMachine } from './StateMachine.js';

/** What the engine needs: the server, a WebSocket class and the media backend. */
export interface CallEngineOptions {
  sdkAppID: number;
  /** `ws(s)://host:port/ws`. */
  signalUrl: string;
  media: MediaBackend;
  logger: Logger;
  WebSocket?: WebSocketConstructor | undefined;
  requestTimeoutMs?: number | undefined;
  reconnect?: SignalClientOptions['reconnect'];
  /** How often the call's link quality is read and reported, ms (default 2000, as TRTC). */
  networkQualityIntervalMs?: number | undefined;
  /**
   * `relay`: every peer connection uses TURN only (members never learn each other's IP address).
   * The server's login reply may ask for `relay` too; either one asking is enough.
   */
  iceTransportPolicy?: IceTransportPolicy | undefined;
  /**
   * When a media connection restarts ICE and when it is given up (ERROR 60120, then the call
   * ends); defaults in `defaultConnectionTimings`.
   */
  connection?: Partial<ConnectionTimings> | undefined;
  /**
   * Pre-connect: while a one-to-one invitation rings, connect the media (ICE and DTLS, no media
   * sent) so that it flows the moment the callee accepts. It gathers candidates before the answer,
   * so each side learns the other's addresses even if the call is never answered. `auto`
   * (default): only when the effective ICE policy is `relay` (addresses are the TURN server's).
   * Both sides must have it on. An invitation into an SFU call connects to the SFU instead: a
   * publisher without tracks, a subscriber the SFU sends nothing on until the answer.
   */
  preconnect?: boolean | 'auto' | undefined;
}

/** The policy peer connections use: `relay` if the app or the server asks for it. */
export function effectiveIcePolicy(
  app: IceTransportPolicy | undefined,
  server: IceTransportPolicy | undefined,
): IceTransportPolicy {
  return app === 'relay' || server === 'relay' ? 'relay' : 'all';
}

/** What `call` needs. */
export interface CallParams {
  userID: string;
  callType: CallType;
  /** Seconds the invitation rings; 0 = until answered; default: the server's. */
  timeout?: number | undefined;
  offlinePushInfo?: OfflinePushInfo | undefined;
}

/** What `groupCall` needs. */
export interface GroupCallParams {
  userIDList: string[];
  callType: CallType;
  /** Invite through this group (every invitee and the caller must be members). */
  groupID?: string | undefined;
  /** Seconds the invitations ring; 0 = until answered; default: the server's. */
  timeout?: number | undefined;
  offlinePushInfo?: OfflinePushInfo | undefined;
}

/** One call attempt, ringing invitation or call; replaced by a new one for the next call. */
interface CallContext {
  /** Caller: made the call. Callee: was invited, or joined a group's call. */
  role: 'caller' | 'callee';
  /**
   * More than two people may take part (several invitees, a group, a join, an invitation into the
   * call): the server, not a single answer, decides when it ends.
   */
  group: boolean;
  groupID?: string;
  /** How media flows; a p2p call moves to the SFU when it gains a third member. */
  media: MediaMode;
  /** Invitations the local user sent into the call after the first (hung up, not cancelled). */
  moreInvites: boolean;
  /** The simulcast layer each remote view wants, kept for a session created later. */
  layers: Map<string, Substream>;
  /** Aborted when the call ends: every wait of the call's operations gives up then. */
  controller: AbortController;
  callType: CallType;
  sponsor: string;
  callID?: string;
  inviteID?: string;
  roomID?: number;
  /** Invitees still ringing. */
  invitees: Set<string>;
  /** The other members who joined, with their media state. */
  members: Map<string, { audio: boolean; video: boolean }>;
  session?: MediaSession;
  /**
   * The session was made while the invitation rings (pre-connect): it connects, but no local track
   * is attached until this side is in the call with the peer (`#unhold`).
   */
  held: boolean;
  /**
   * One-to-one pre-connect: the peer whom the session was made with while it rang, as long as the
   * session is that pre-connection (also after the answer). Each side tells the other when it
   * drops its pre-connection (`signal {closed}`), so that the answer connects both anew.
   */
  preconnectPeer?: string | undefined;
  /** Reads the session's link quality every interval, from the first session until the end. */
  qualityTimer?: ReturnType<typeof setInterval>;
  /** A reading is under way (getStats is async): the next tick does not start another. */
  readingQuality: boolean;
  /**
   * Pre-connecting callee: the camera and mic opening while it rings (nothing is sent before the
   * answer), so that accept finds them open. accept() waits for it rather than opening them twice.
   */
  warming?: Promise<void>;
  /** SDP/ICE that came before the media session existed. */
  early: { from: string; data: SignalData }[];
  /** The P2P connection was down (restarting) when the other member left. */
  mediaDownAtLeave: boolean;
  ended: boolean;
}

// Why an operation gave up when the app itself hung up: not an error to report.
const hungUpLocally = CallError.callEnded('hung up');
// Bound on buffered early SDP/ICE (a well-behaved peer sends a handful).
const MAX_EARLY_SIGNALS = 256;
/** TRTC reports network quality every 2 s. */
const NETWORK_QUALITY_INTERVAL_MS = 2000;

/**
 * The call state machine (idle → dialing | beInvited → connected → idle) over a SignalClient and a
 * MediaSession. Server pushes move it; app operations run one at a time through a queue and each
 * call attempt has one AbortController that ends every wait of that call.
 */
export class CallEngine extends TypedEmitter<EngineCallbacks> {
  readonly #options: CallEngineOptions;
  readonly #log: Logger;
  readonly #machine: StateMachine<CallState>;
  readonly #queue = new AwaitQueue();
  readonly #local: LocalMedia;
  #signal: SignalClient | undefined;
  #loginController: AbortController | undefined;
  #loggingIn: Promise<void> | undefined;
  #userID: string | undefined;
  #current: CallContext | undefined;
  // Calls left while disconnected: the server still counts us in them until told.
  #orphans = new Set<string>();
  // Background blur (or any filter) between the camera and what is sent; see #outgoing.
  #videoFilter: VideoFilter | undefined;
  #filtered: { source: MediaStreamTrack; output: MediaStreamTrack } | undefined;
  // ICE servers renewed by an `iceServers` push since the last login reply (which is fresher).
  #pushedIce: IceConfig | undefined;

  constructor(options: CallEngineOptions) {
    super((error, event) =>
      options.logger.error(`a listener of engine event ${event} threw`, error),
    );
    this.#options = options;
    this.#log = options.logger;
    this.#machine = new StateMachine('call', callTransitions, CallState.Idle, this.#log, (n, p) =>
      this.emit(EngineEvent.StateChanged, n, p),
    );
    this.#local = new LocalMedia(options.media, this.#log);
    this.#local.on(LocalMediaEvent.TrackChanged, (kind, track) => {
      void this.#sendLocal(kind);
      // The preview shows what is sent: with blur on, the blurred copy of the new camera.
      this.emit(EngineEvent.LocalTrack, kind, track && this.#outgoing(kind));
    });
  }

  /**
   * Puts `filter` between the camera and the peers (undefined: the camera is sent as it is). The
   * track is swapped with replaceTrack, so the call goes on without renegotiation; the filter
   * stays for later calls until removed. The engine closes the filter it replaces.
   */
  async setVideoFilter(filter: VideoFilter | undefined): Promise<void> {
    const old = this.#videoFilter;
    if (old === filter) return;
    this.#videoFilter = filter;
    const stale = this.#filtered;
    this.#filtered = undefined;
    await this.#sendLocal('video');
    this.emit(EngineEvent.LocalTrack, 'video', this.#outgoing('video'));
    // Stopped only after the sender has the new track, so the peer never sees an ended track.
    stale?.output.stop();
    old?.close();
  }

  /** The track of `kind` that peers are sent: the camera's, or its filtered copy. */
  #outgoing(kind: MediaKind): MediaStreamTrack | null {
    const track = this.#local.track(kind);
    if (kind !== 'video') return track;
    if (this.#filtered && (this.#filtered.source !== track || !this.#videoFilter)) {
      this.#filtered.output.stop();
      this.#filtered = undefined;
    }
    if (!track || !this.#videoFilter) return track;
    this.#filtered ??= { source: track, output: this.#videoFilter.process(track) };
    return this.#filtered.output;
  }

  // Never rejects: a failed replaceTrack is logged (the call goes on with the previous track).
  async #sendLocal(kind: MediaKind): Promise<void> {
    const track = this.#outgoing(kind);
    const ctx = this.#current;
    const session = ctx?.session;
    // Nothing is sent before the answer, even on a connection made while it rang.
    if (session && !session.closed && !ctx.held) {
      await session.setLocalTrack(kind, track).catch((error: unknown) => {
        this.#log.error(`sending the new ${kind} track failed`, error);
      });
    }
  }

  /** Where the local user stands. */
  get state(): CallState {
    return this.#machine.state;
  }

  /** The logged-in user (also while logging in), else undefined. */
  get userID(): string | undefined {
    return this.#userID;
  }

  /**
   * The call in progress (or ringing), for the facade's trtc-calling-js getters and resolved
   * values; undefined when idle.
   */
  get currentCall():
    | { inviteID?: string; roomID?: number; callID?: string; groupID?: string; callType: CallType }
    | undefined {
    const ctx = this.#current;
    if (!ctx) return undefined;
    const { inviteID, roomID, callID, groupID, callType } = ctx;
    return { inviteID, roomID, callID, groupID, callType } as {
      inviteID?: string;
      roomID?: number;
      callID?: string;
      groupID?: string;
      callType: CallType;
    };
  }

  /** Whether a session with the server is up (or being resumed). */
  get loggedIn(): boolean {
    const state = this.#signal?.state;
    return state === SignalState.Connected || state === SignalState.Reconnecting;
  }

  /**
   * This login's session ID, once logged in: the server's ID for this device (with its
   * `--multi-device ring-all`). A session lost and started anew is a new device.
   */
  get sessionID(): string | undefined {
    return this.loggedIn ? this.#signal?.session?.sessionID : undefined;
  }

  /** The live local track of `kind`, or null (the microphone's also while muted: disabled). */
  localTrack(kind: MediaKind): MediaStreamTrack | null {
    return this.#local.track(kind);
  }

  /** The track of `kind` as peers receive it: the camera's, or its blurred copy. */
  sentTrack(kind: MediaKind): MediaStreamTrack | null {
    return this.#outgoing(kind);
  }

  /** The capture profile. */
  get videoQuality(): VideoQuality {
    return this.#local.quality;
  }

  /** Connects to the server and logs in; `Ready` follows. Idempotent for the same user. */
  login(credentials: Credentials): Promise<void> {
    if (this.#signal && this.#signal.state !== SignalState.Closed) {
      if (credentials.userID !== this.#userID) {
        return Promise.reject(CallError.alreadyLoggedIn(this.#userID!));
      }
      return this.#loggingIn ?? Promise.resolve();
    }
    const missing = this.#options.media.unsupported({ capture: false });
    if (missing) return Promise.reject(CallError.webrtcUnsupported(missing));
    const controller = new AbortController();
    const signal = new SignalClient({
      url: this.#options.signalUrl,
      WebSocket: this.#options.WebSocket,
      logger: this.#log,
      ...(this.#options.requestTimeoutMs
        ? { requestTimeoutMs: this.#options.requestTimeoutMs }
        : {}),
      ...(this.#options.reconnect ? { reconnect: this.#options.reconnect } : {}),
    });
    this.#loginController = controller;
    this.#signal = signal;
    this.#userID = credentials.userID;
    this.#wire(signal);
    const attempt = (async () => {
      try {
        await signal.connect(credentials, controller.signal);
      } catch (error) {
        if (this.#signal === signal) this.#loggedOut();
        throw error;
      } finally {
        if (this.#loginController === controller) this.#loginController = undefined;
        this.#loggingIn = undefined;
      }
      // Apps subscribe after `await login()` too: announce readiness after the promise settles.
      setTimeout(() => {
        if (this.#signal === signal && this.loggedIn) {
          this.emit(EngineEvent.Ready, { userID: credentials.userID });
        }
      }, 0);
    })();
    this.#loggingIn = attempt;
    return attempt;
  }

  /** Ends any call (cancel / reject / leave), logs out and closes the connection. Idempotent. */
  async logout(): Promise<void> {
    const signal = this.#signal;
    if (!signal) return;
    this.#loginController?.abort(CallError.notLoggedIn('login (logged out meanwhile)'));
    const ctx = this.#current;
    ctx?.controller.abort(CallError.callEnded('logged out'));
    await this.#queue.push('logout', async () => {
      if (ctx && this.#current === ctx) await this.#leave(ctx);
      if (signal.state === SignalState.Connected) {
        await signal.request('logout', {}).catch((error: unknown) => {
          this.#log.warn('logout request failed', error);
        });
      }
      signal.close();
      if (this.#signal === signal) this.#loggedOut();
    });
  }

  /**
   * Calls one user: invites at once and opens the camera and mic while it rings. Resolves once the
   * invitation rings and the media is open; a capture failure cancels the invitation.
   */
  call(params: CallParams): Promise<void> {
    return this.#dial('call', {
      userIDList: [params.userID],
      callType: params.callType,
      timeout: params.timeout,
      offlinePushInfo: params.offlinePushInfo,
    });
  }

  /**
   * Calls several users (or users through a group): invites them all at once, opening the camera
   * and mic meanwhile. Resolves once the invitations ring; the call runs through the SFU.
   */
  groupCall(params: GroupCallParams): Promise<void> {
    return this.#dial('groupCall', params);
  }

  /** A new call (dialled or joined) needs an idle engine and a browser that can capture. */
  #checkCanStart(verb: 'call' | 'join'): void {
    if (this.state !== CallState.Idle) {
      throw new CallError(ServerErrorCode.ALREADY_IN_CALL, `cannot ${verb} while ${this.state}`);
    }
    const missing = this.#options.media.unsupported({ capture: true });
    if (missing) throw CallError.webrtcUnsupported(missing);
  }

  /** Takes the mic (and camera for video) for `ctx`; a preview camera is not sent in audio calls. */
  async #takeLocalMedia(ctx: CallContext, callType: CallType): Promise<void> {
    if (callType === CallType.AUDIO) this.#local.stopVideo();
    await this.#local.acquire(
      { audio: true, video: callType === CallType.VIDEO },
      ctx.controller.signal,
    );
    ctx.controller.signal.throwIfAborted();
  }

  #dial(operation: string, params: GroupCallParams): Promise<void> {
    return this.#queue.push(operation, async () => {
      const signal = this.#requireLogin(operation);
      this.#checkCanStart('call');
      if (params.userIDList.includes(this.#userID!)) throw CallError.cannotCallSelf();
      const ctx = this.#newContext('caller', params.callType, this.#userID!);
      ctx.group = params.userIDList.length > 1 || params.groupID !== undefined;
      if (params.groupID !== undefined) ctx.groupID = params.groupID;
      for (const userID of params.userIDList) ctx.invitees.add(userID);
      this.#current = ctx;
      this.#setState(CallState.Dialing);
      // The invitation does not wait for the camera (tens of ms, seconds with a permission
      // prompt): it rings meanwhile. Sessions start without tracks and get them when they open.
      const media = this.#takeLocalMedia(ctx, params.callType).then(
        () => undefined,
        (error: unknown) => ({ error }),
      );
      try {
        // Not abortable once sent: the reply carries the ids needed to cancel.
        await signal.request(
          'invite',
          {
            userIDList: params.userIDList,
            callType: params.callType,
            ...(params.groupID !== undefined ? { groupID: params.groupID } : {}),
            ...(params.timeout !== undefined ? { timeout: params.timeout } : {}),
            ...(params.offlinePushInfo ? { offlinePushInfo: params.offlinePushInfo } : {}),
          },
          {
            onReply: (result) => {
              ctx.inviteID = result.inviteID;
              ctx.callID = result.callID;
              ctx.roomID = result.roomID;
              ctx.media = result.media;
              // Through the SFU the caller publishes at once, so joiners see it without delay.
              if (result.media === MediaMode.SFU && !ctx.ended) this.#ensureSession(ctx);
            },
          },
        );
        // A camera or mic that failed ends the call it rang for (cancelled below). A call that
        // ended meanwhile (busy, rejected, hung up) was answered: its events told the app.
        const failed = await media;
        if (failed && !ctx.ended) throw failed.error;
      } catch (error) {
        const reason: unknown = ctx.controller.signal.reason;
        this.#finish(ctx, CallError.from(error));
        if (ctx.callID) await this.#cancelOnServer(ctx);
        if (reason === hungUpLocally) return;
        throw error;
      }
      // A hangup() queued meanwhile cancels it; otherwise tell the callee what we send.
      if (!ctx.ended && !ctx.controller.signal.aborted) await this.#sendMediaState(ctx);
    });
  }

  /**
   * Invites more users into the call in progress (connected, or still ringing as its caller).
   * A one-to-one call that gains a third member moves to the SFU.
   */
  inviteUser(userIDList: string[]): Promise<void> {
    return this.#queue.push('inviteUser', async () => {
      const signal = this.#requireLogin('inviteUser');
      const ctx = this.#current;
      const inCall =
        this.state === CallState.Connected ||
        (this.state === CallState.Dialing && ctx?.role === 'caller');
      if (!ctx || !ctx.callID || !inCall) throw CallError.invalidState('inviteUser', this.state);
      if (userIDList.includes(this.#userID!)) throw CallError.cannotCallSelf();
      await signal.request(
        'invite',
        {
          userIDList,
          callType: ctx.callType,
          callID: ctx.callID,
          ...(ctx.groupID !== undefined ? { groupID: ctx.groupID } : {}),
        },
        {
          onReply: () => {
            ctx.group = true;
            ctx.moreInvites = true;
            for (const userID of userIDList) {
              if (!ctx.members.has(userID)) ctx.invitees.add(userID);
            }
          },
        },
      );
    });
  }

  /**
   * Joins the ongoing call of a group the user is a member of, without an invitation: takes local
   * media, then joins; resolves once in the call.
   */
  join(params: { groupID: string; callType: CallType }): Promise<void> {
    return this.#queue.push('joinInGroupCall', async () => {
      const signal = this.#requireLogin('joinInGroupCall');
      this.#checkCanStart('join');
      // Nobody invited us: the sponsor is unknown until someone says otherwise.
      const ctx = this.#newContext('callee', params.callType, '');
      ctx.group = true;
      ctx.groupID = params.groupID;
      this.#current = ctx;
      this.#setState(CallState.Dialing);
      try {
        await this.#takeLocalMedia(ctx, params.callType);
        await signal.request(
          'join',
          { groupID: params.groupID, callType: params.callType },
          { onReply: (result) => this.#joined(ctx, result) },
        );
      } catch (error) {
        const reason: unknown = ctx.controller.signal.reason;
        const failure = CallError.from(error);
        if (!ctx.ended) this.#finish(ctx, failure);
        if (reason === hungUpLocally) return;
        throw failure;
      }
      await this.#sendMediaState(ctx);
    });
  }

  /** Accepts the ringing invitation (optionally checking its id): takes local media, then joins. */
  accept(inviteID?: string): Promise<void> {
    return this.#queue.push('accept', async () => {
      const signal = this.#requireLogin('accept');
      const ctx = this.#current;
      if (!ctx || this.state !== CallState.BeInvited) {
        throw CallError.invalidState('accept', this.state);
      }
      if (inviteID !== undefined && inviteID !== ctx.inviteID) {
        throw CallError.invitationEnded(`${inviteID} is not the ringing invitation`);
      }
      const missing = this.#options.media.unsupported({ capture: true });
      if (missing) throw CallError.webrtcUnsupported(missing);
      if (ctx.callType === CallType.AUDIO) this.#local.stopVideo();
      try {
        await ctx.warming;
        await this.#local.acquire(
          { audio: true, video: ctx.callType === CallType.VIDEO },
          ctx.controller.signal,
        );
        ctx.controller.signal.throwIfAborted();
      } catch (error) {
        // Rejected or hung up by the app while the camera was opening: nothing went wrong.
        if (ctx.controller.signal.reason === hungUpLocally) return;
        throw error;
      }
      try {
        await signal.request(
          'accept',
          { inviteID: ctx.inviteID! },
          { onReply: (result) => this.#joined(ctx, result) },
        );
      } catch (error) {
        const failure = CallError.from(error);
        if (!ctx.ended) {
          this.#finish(ctx, failure);
          // Without an answer we cannot tell whether the server took us in: leave to be sure.
          if (isConnectionError(failure)) await this.#leaveOnServer(ctx.callID!);
        }
        throw failure;
      }
      await this.#sendMediaState(ctx);
    });
  }

  /** Rejects the ringing invitation; `busy` reports the line as busy instead. */
  reject(options: { inviteID?: string | undefined; busy?: boolean } = {}): Promise<void> {
    const current = this.#current;
    const ringing =
      current?.role === 'callee' &&
      this.state === CallState.BeInvited &&
      (options.inviteID === undefined || options.inviteID === current.inviteID)
        ? current
        : undefined;
    // An accept() still opening the camera gives up at once.
    ringing?.controller.abort(hungUpLocally);
    return this.#queue.push('reject', async () => {
      const signal = this.#requireLogin('reject');
      const ctx = this.#current;
      if (ringing && ctx === ringing && this.state === CallState.Connected) {
        // The accept() it raced with was already answered: leave the call instead.
        await this.#leave(ctx);
        return;
      }
      if (!ctx || this.state !== CallState.BeInvited) {
        throw CallError.invalidState('reject', this.state);
      }
      if (options.inviteID !== undefined && options.inviteID !== ctx.inviteID) {
        throw CallError.invitationEnded(`${options.inviteID} is not the ringing invitation`);
      }
      this.#finish(ctx, CallError.callEnded('rejected'));
      await signal
        .request('reject', { inviteID: ctx.inviteID!, ...(options.busy ? { busy: true } : {}) })
        .catch((error: unknown) => {
          // Cancelled or timed out meanwhile: the invitation is gone either way.
          if (!isGoneError(error)) throw error;
        });
    });
  }

  /** Cancels when dialing, rejects when invited, leaves when connected; nothing when idle. */
  hangup(): Promise<void> {
    const ctx = this.#current;
    // Ends a call() or accept() still waiting (e.g. on the permission prompt) right away.
    ctx?.controller.abort(hungUpLocally);
    return this.#queue.push('hangup', async () => {
      if (ctx && this.#current === ctx) await this.#leave(ctx);
    });
  }

  /** Turns the camera on or off (replaceTrack, no renegotiation) and tells the other members. */
  setCamera(on: boolean): Promise<void> {
    return this.#queue.push(on ? 'openCamera' : 'closeCamera', async () => {
      const ctx = this.#current;
      if (on) {
        const missing = this.#options.media.unsupported({ capture: true });
        if (missing) throw CallError.webrtcUnsupported(missing);
        await this.#local.acquire({ audio: false, video: true }, ctx?.controller.signal);
      } else {
        this.#local.stopVideo();
      }
      if (ctx) await this.#sendMediaState(ctx);
    });
  }

  /** Mutes or unmutes the microphone (track.enabled) and tells the other members. */
  setMicMuted(muted: boolean): Promise<void> {
    return this.#queue.push('setMicMute', async () => {
      this.#local.setMicMuted(muted);
      const ctx = this.#current;
      if (ctx) await this.#sendMediaState(ctx);
    });
  }

  /** Sets the capture profile and the matching encoder bitrate. */
  setVideoQuality(quality: VideoQuality): Promise<void> {
    return this.#queue.push('setVideoQuality', async () => {
      await this.#local.setQuality(quality);
      await this.#current?.session?.setMaxVideoBitrate(videoProfiles[quality].maxBitrate);
    });
  }

  /**
   * Switches a connected call to audio (camera off) or video (camera on); the other members
   * follow. Fails with 60001 / 60002 (also when the server refuses).
   */
  switchCallType(callType: CallType): Promise<void> {
    const fail = (reason: string, cause?: unknown): CallError =>
      callType === CallType.AUDIO
        ? CallError.switchToAudioFailed(reason, cause)
        : CallError.switchToVideoFailed(reason, cause);
    return this.#queue.push('switchCallType', async () => {
      const ctx = this.#current;
      const signal = this.#signal;
      if (!ctx || !signal || this.state !== CallState.Connected) {
        throw fail(`not in a connected call (state ${this.state})`);
      }
      if (ctx.callType === callType) return;
      const hadCamera = this.#local.track('video') !== null;
      if (callType === CallType.VIDEO) {
        try {
          await this.#local.acquire({ audio: false, video: true }, ctx.controller.signal);
        } catch (error) {
          throw fail(CallError.from(error).message, error);
        }
      }
      try {
        await signal.request('switchCallType', { callID: ctx.callID!, callType });
      } catch (error) {
        if (callType === CallType.VIDEO && !hadCamera && this.#current === ctx) {
          this.#local.stopVideo();
        }
        throw fail(CallError.from(error).message, error);
      }
      ctx.callType = callType;
      if (callType === CallType.AUDIO) this.#local.stopVideo();
      await this.#sendMediaState(ctx);
    });
  }

  /** Uses another camera or microphone; a live track is replaced without renegotiation. */
  switchDevice(kind: MediaKind, deviceId: string): Promise<void> {
    return this.#queue.push('switchDevice', () =>
      this.#local.switchDevice(kind, deviceId, this.#current?.controller.signal),
    );
  }

  /** The cameras or microphones of this machine. */
  devices(kind: 'videoinput' | 'audioinput'): Promise<DeviceInfo[]> {
    return this.#local.devices(kind);
  }

  /** Opens the camera for a preview while idle (a call then sends the same track). */
  startPreview(): Promise<void> {
    return this.#queue.push('startPreview', async () => {
      if (this.state !== CallState.Idle || this.#local.track('video')) return;
      const missing = this.#options.media.unsupported({ capture: true });
      if (missing) throw CallError.webrtcUnsupported(missing);
      await this.#local.acquire({ audio: false, video: true });
    });
  }

  /** The simulcast layer wanted for `userID`'s video (from the size of its view). */
  requestLayer(userID: string, substream: Substream): void {
    const ctx = this.#current;
    if (!ctx || ctx.ended) return;
    ctx.layers.set(userID, substream);
    ctx.session?.requestLayer(userID, substream);
  }

  /** Stops a preview camera opened while idle. */
  stopPreview(): void {
    if (this.state === CallState.Idle) this.#local.stopVideo();
  }

  // ---- server pushes -------------------------------------------------------------------------

  #wire(signal: SignalClient): void {
    const p = signal.pushes;
    p.on('invited', (push) => this.#onInvited(signal, push));
    p.on('rejected', (push) => this.#onInviteeDone(EngineEvent.Rejected, push));
    p.on('lineBusy', (push) => this.#onInviteeDone(EngineEvent.LineBusy, push));
    p.on('noResponse', (push) => this.#onInviteeDone(EngineEvent.NoResponse, push));
    p.on('inviteEnded', (push) => this.#onInviteEnded(push));
    p.on('preconnect', (push) => {
      const ctx = this.#ctxFor(push.callID);
      const ready =
        ctx?.role === 'caller' &&
        this.state === CallState.Dialing &&
        !ctx.group &&
        ctx.media === MediaMode.P2P &&
        !ctx.session &&
        ctx.invitees.has(push.userID);
      if (!ready || !this.#preconnectOn()) {
        this.#log.debug(`not pre-connecting with ${push.userID}`);
        return;
      }
      this.#preconnect(ctx, { userID: push.userID, initiator: true });
    });
    p.on('userEnter', (push) => this.#onUserEnter(push));
    p.on('userLeave', (push) => this.#onUserLeave(push));
    p.on('callEnded', (push) => this.#onCallEnded(push));
    p.on('signal', (push) => this.#onSignal(push));
    p.on('mediaState', (push) => this.#onMediaState(push));
    p.on('callTypeChanged', (push) => this.#onCallTypeChanged(push));
    p.on('mediaMode', (push) => {
      const ctx = this.#ctxFor(push.callID);
      if (ctx && this.state !== CallState.BeInvited) this.#useMedia(ctx, push.media);
    });
    p.on('sfuOffer', (push) => {
      const ctx = this.#ctxFor(push.callID);
      if (!ctx) return;
      if (this.state === CallState.BeInvited) {
        // Ringing: only a pre-connection to the SFU takes it (the SFU sends nothing on it yet).
        if (!ctx.held || !ctx.session || ctx.media !== MediaMode.SFU) return;
      }
      // An offer from the SFU means the call's media is there, whatever we thought before.
      this.#useMedia(ctx, MediaMode.SFU);
      this.#ensureSession(ctx)
        .handleSfuOffer({ description: push.description, streams: push.streams })
        .catch(() => {
          // Reported through the session's Error event.
        });
    });
    p.on('sfuReset', (push) => {
      const ctx = this.#ctxFor(push.callID);
      if (!ctx || ctx.ended) return;
      if (this.state === CallState.BeInvited) {
        // Ringing: a pre-connection to the SFU connects again to the new room, still held.
        if (ctx.held && ctx.media === MediaMode.SFU) ctx.session?.resetSfu();
        return;
      }
      // Janus restarted and the server made the call a new room: media comes back by itself, so
      // the app hears nothing of it (no CALL_END, no ERROR) beyond new remote tracks.
      this.#log.info(`call ${push.callID}: the SFU room was re-created; reconnecting media`);
      if (ctx.media !== MediaMode.SFU) this.#useMedia(ctx, MediaMode.SFU);
      else if (ctx.session) ctx.session.resetSfu();
      else this.#ensureSession(ctx);
    });
    p.on('inviteeListUpdate', (push) => {
      const ctx = this.#ctxFor(push.callID);
      if (ctx) {
        ctx.invitees = new Set(push.userIDList);
        this.emit(EngineEvent.InviteeListUpdate, {
          callID: push.callID,
          userIDList: push.userIDList,
        });
      }
    });
    p.on('iceServers', (push) => {
      this.#pushedIce = {
        iceServers: push.iceServers,
        iceTransportPolicy: push.iceTransportPolicy,
        iceServersTtl: push.iceServersTtl,
      };
      this.#log.info(`ICE servers renewed (${push.iceServers.length})`);
      this.#applyIceConfig();
    });
    signal.on(SignalEvent.SessionLost, () => {
      this.#pushedIce = undefined;
      this.#onSessionLost(signal);
    });
    signal.on(SignalEvent.Resumed, () => {
      // The login reply of the resume carries fresh ICE servers.
      this.#pushedIce = undefined;
      this.#applyIceConfig();
      this.#flushOrphans(signal);
      // A media state sent as the connection dropped may be lost: send the current one again.
      const ctx = this.#current;
      if (ctx) void this.#sendMediaState(ctx);
      // Signals and SFU requests may have died with the old socket: negotiate again where needed.
      if (ctx && !ctx.ended) ctx.session?.resync();
    });
    signal.on(SignalEvent.Closed, (info) => this.#onSignalClosed(signal, info));
    signal.on(SignalEvent.ServerError, (error, request) => {
      // A relay refused as the call ends (the peer already left) is expected; the client logs it.
      if (request !== 'signal') this.emit(EngineEvent.Error, error);
    });
  }

  #onInvited(signal: SignalClient, push: Push<'invited'>): void {
    if (this.#current) {
      // The server answers busy itself; this covers an invitation that crossed our own call.
      this.#log.info(`busy: rejecting invitation ${push.inviteID} from ${push.sponsor}`);
      signal.request('reject', { inviteID: push.inviteID, busy: true }).catch(() => {});
      return;
    }
    const ctx = this.#newContext('callee', push.callType, push.sponsor);
    ctx.group = push.isFromGroup || push.userIDList.length > 1;
    if (push.groupID !== undefined) ctx.groupID = push.groupID;
    ctx.inviteID = push.inviteID;
    ctx.callID = push.callID;
    ctx.roomID = push.roomID;
    this.#current = ctx;
    this.#setState(CallState.BeInvited);
    this.emit(EngineEvent.Invited, fields(push) as Invitation);
    if (ctx.ended || this.#current !== ctx || !this.#preconnectOn()) return;
    // Servers before pre-connect do not say: a group's invitation goes through the SFU.
    const media = push.media ?? (ctx.group ? MediaMode.SFU : MediaMode.P2P);
    if (media === MediaMode.SFU) {
      // Publisher without tracks and a subscriber the SFU sends nothing on, until the answer.
      ctx.media = MediaMode.SFU;
      ctx.warming = this.#warmUp(ctx);
      this.#preconnect(ctx);
    } else if (!ctx.group && push.groupID === undefined) {
      ctx.warming = this.#warmUp(ctx);
      this.#preconnect(ctx, { userID: push.sponsor, initiator: false });
      // Failed here already: the caller is not asked to make a connection nobody would answer.
      if (!ctx.held) return;
      signal.request('preconnect', { inviteID: push.inviteID }).catch((error: unknown) => {
        // Refused (ring-all devices, a call through the SFU) or ended: it connects at accept.
        this.#log.info('pre-connect refused; the call connects when answered', error);
        if (this.#current === ctx && ctx.held) this.#dropPreconnection(ctx, { tell: false });
      });
    }
  }

  /**
   * Opens the camera (video calls) and mic while a pre-connecting invitation rings, where the user
   * allowed them before (no prompt during the ringing): the answer then sends at once instead of
   * waiting ~70 ms for a camera to start. Nothing is attached until the answer; a failure here is
   * accept()'s to report, which tries again.
   */
  async #warmUp(ctx: CallContext): Promise<void> {
    const want = { audio: true, video: ctx.callType === CallType.VIDEO };
    try {
      if (!(await this.#options.media.captureAllowed(want)) || ctx.ended) return;
      await this.#local.acquire(want, ctx.controller.signal);
    } catch (error) {
      this.#log.debug('opening the camera and mic while it rings failed', error);
    }
  }

  /** Whether calls pre-connect while they ring (the option; `auto`: with relay-only ICE). */
  #preconnectOn(): boolean {
    const option = this.#options.preconnect ?? 'auto';
    return option === 'auto' ? this.#iceConfig().iceTransportPolicy === 'relay' : option;
  }

  /**
   * Connects `ctx`'s media while the invitation rings, held: to the SFU, or with `peer` (P2P: the
   * callee waits for the caller's offer, the caller makes it once the callee asked).
   */
  #preconnect(ctx: CallContext, peer?: { userID: string; initiator: boolean }): void {
    ctx.held = true;
    ctx.preconnectPeer = peer?.userID;
    try {
      const session = this.#ensureSession(ctx);
      if (peer) session.addPeer(peer.userID, peer);
    } catch (error) {
      this.#log.warn('pre-connecting failed; the call connects when answered', error);
      // The caller tells the callee who asked; a callee has not asked yet (nobody to tell).
      this.#dropPreconnection(ctx, { tell: peer?.initiator ?? false });
    }
  }

  /**
   * Closes the pre-connection of `ctx` (it failed, or was refused); the answer makes a new one.
   * A one-to-one peer is told (`tell`), so that it drops its side too rather than keep a connection
   * whose other end is gone.
   */
  #dropPreconnection(ctx: CallContext, { tell = true }: { tell?: boolean } = {}): void {
    const peer = ctx.preconnectPeer;
    this.#closeSession(ctx);
    const signal = this.#signal;
    if (!tell || peer === undefined || ctx.callID === undefined || !signal) return;
    const message = { callID: ctx.callID, to: peer, data: { closed: true as const } };
    signal.notify('signal', message).catch((error: unknown) => {
      // The invitation ended meanwhile, or the peer never pre-connected: nothing to close there.
      this.#log.debug(`telling ${peer} that the pre-connection closed failed`, error);
    });
  }

  /** Closes `ctx`'s media session, held or not, and forgets what belonged to it. */
  #closeSession(ctx: CallContext): void {
    const session = ctx.session;
    ctx.session = undefined;
    ctx.held = false;
    ctx.preconnectPeer = undefined;
    ctx.early = [];
    session?.close();
  }

  /**
   * `from` closed its side of our one-to-one pre-connection. Still ringing: ours goes too, and the
   * answer connects anew. A callee that answered already (the caller closed just before the
   * answer): the caller's new connection is on its way (its offer follows), so ours is made anew
   * at once. A caller never hears it after the answer (the callee's `closed` goes before its
   * `accept`), and does nothing then.
   */
  #onPeerClosed(ctx: CallContext, from: string): void {
    if (ctx.preconnectPeer !== from || !ctx.session || ctx.media !== MediaMode.P2P) return;
    if (ctx.held) {
      this.#log.info(`${from} closed the pre-connection; the answer connects anew`);
      this.#dropPreconnection(ctx, { tell: false });
      return;
    }
    if (ctx.role !== 'callee') return;
    this.#log.info(`${from} closed the pre-connection as the call was answered; connecting anew`);
    this.#closeSession(ctx);
    const session = this.#ensureSession(ctx);
    session.addPeer(from, { initiator: false });
    const media = ctx.members.get(from);
    if (media) session.setRemoteMedia(from, media);
  }

  /**
   * `ctx` is in the call with its peer: the pre-connection starts sending the local tracks — before
   * the app hears of it (its listeners run first otherwise), video first (the first frame is what
   * the other side waits for).
   */
  #unhold(ctx: CallContext): void {
    if (!ctx.held) return;
    ctx.held = false;
    void this.#sendLocal('video');
    void this.#sendLocal('audio');
  }

  #onInviteeDone(
    event: EngineEvent.Rejected | EngineEvent.LineBusy | EngineEvent.NoResponse,
    push: Push<'rejected'> | Push<'lineBusy'> | Push<'noResponse'>,
  ): void {
    // Every member hears of each invitee's answer; a ringing invitee is not a member yet.
    const ctx = this.#ctxFor(push.callID);
    if (!ctx || this.state === CallState.BeInvited) return;
    ctx.invitees.delete(push.userID);
    // 1:1: nobody left to answer and nobody joined, so the call is over before it began (no
    // CALL_END). A group call waits for the server's callEnded, which says so for everyone.
    if (!ctx.group && this.state === CallState.Dialing && !ctx.invitees.size && !ctx.members.size) {
      this.#finish(ctx, CallError.callEnded(`${push.userID} did not answer (${event})`));
    }
    (this.emit as (e: EngineEvent, i: unknown) => boolean)(event, {
      ...fields(push),
      sponsor: ctx.sponsor,
    });
  }

  #onInviteEnded(push: Push<'inviteEnded'>): void {
    const ctx = this.#current;
    if (!ctx || ctx.ended || ctx.inviteID !== push.inviteID || this.state !== CallState.BeInvited) {
      return;
    }
    this.#finish(ctx, CallError.invitationEnded(push.reason));
    const info = { inviteID: push.inviteID, callID: push.callID, sponsor: ctx.sponsor };
    if (push.reason === 'timeout') this.emit(EngineEvent.InviteTimedOut, info);
    else this.emit(EngineEvent.InviteCancelled, { ...info, reason: push.reason });
  }

  #onUserEnter(push: Push<'userEnter'>): void {
    const ctx = this.#ctxFor(push.callID);
    if (!ctx || push.userID === this.#userID) return;
    if (this.state === CallState.BeInvited) return; // not in the call until our accept is answered
    this.#memberJoined(ctx, push, ctx.role === 'caller');
  }

  #onUserLeave(push: Push<'userLeave'>): void {
    const ctx = this.#ctxFor(push.callID);
    if (!ctx || !ctx.members.delete(push.userID)) return;
    if (ctx.media === MediaMode.P2P && ctx.session?.connectionDown) ctx.mediaDownAtLeave = true;
    ctx.session?.removePeer(push.userID);
    this.emit(EngineEvent.UserLeave, { callID: push.callID, userID: push.userID });
  }

  #onCallEnded(push: Push<'callEnded'>): void {
    const ctx = this.#ctxFor(push.callID);
    if (!ctx) return;
    // Our own connection was down too when the call ended: that is why, as far as we can tell.
    const mediaDown = ctx.mediaDownAtLeave || (ctx.session?.connectionDown ?? false);
    const prev = this.#finish(ctx, CallError.callEnded(push.reason));
    if (mediaDown && prev === CallState.Connected) {
      this.emit(
        EngineEvent.Error,
        CallError.mediaConnectFailed('the connection was down when the call ended'),
      );
    }
    // A group call that everybody declined ends for its caller with CALL_END too.
    if (prev === CallState.Connected || (prev === CallState.Dialing && ctx.group)) {
      this.emit(EngineEvent.CallEnded, {
        callID: push.callID,
        roomID: ctx.roomID,
        reason: push.reason,
      });
    }
  }

  #onSignal(push: Push<'signal'>): void {
    const ctx = this.#ctxFor(push.callID);
    if (!ctx) return;
    if (push.data.closed) {
      this.#onPeerClosed(ctx, push.from);
      return;
    }
    if (ctx.session) {
      ctx.session.handleSignal(push.from, push.data).catch(() => {
        // Reported through the session's Error event.
      });
    } else if (this.state === CallState.BeInvited) {
      // A ringing callee with no session (pre-connect off, or dropped) takes nothing: what it
      // would keep belongs to a connection that the answer does not use.
      this.#log.debug(`ignoring a signal from ${push.from} while ringing`);
    } else if (ctx.early.length < MAX_EARLY_SIGNALS) {
      ctx.early.push({ from: push.from, data: push.data });
    }
  }

  #onMediaState(push: Push<'mediaState'>): void {
    const ctx = this.#ctxFor(push.callID);
    const member = ctx?.members.get(push.userID);
    if (!member) return;
    member.audio = push.audio;
    member.video = push.video;
    ctx?.session?.setRemoteMedia(push.userID, { audio: push.audio, video: push.video });
    this.emit(EngineEvent.RemoteMediaState, fields(push));
  }

  #onCallTypeChanged(push: Push<'callTypeChanged'>): void {
    const ctx = this.#ctxFor(push.callID);
    if (!ctx || push.userID === this.#userID || this.state !== CallState.Connected) return;
    ctx.callType = push.callType;
    this.emit(EngineEvent.CallTypeChanged, {
      callID: push.callID,
      userID: push.userID,
      callType: push.callType,
    });
    // Follow the peer: camera off for audio, on for video.
    this.#queue
      .push('followCallType', async () => {
        if (ctx.ended || ctx.callType !== push.callType) return;
        if (push.callType === CallType.AUDIO) {
          this.#local.stopVideo();
        } else {
          await this.#local.acquire({ audio: false, video: true }, ctx.controller.signal);
        }
        await this.#sendMediaState(ctx);
      })
      .catch((error: unknown) => {
        if (ctx.ended) return;
        this.emit(EngineEvent.Error, CallError.from(error));
        void this.#sendMediaState(ctx);
      });
  }

  #onSessionLost(signal: SignalClient): void {
    if (signal !== this.#signal) return;
    const ctx = this.#current;
    if (!ctx) return;
    // The server ended everything of the old session: this call is over here too.
    this.#finish(ctx, CallError.callEnded('the session with the server was lost'));
    this.emit(EngineEvent.CallEnded, {
      callID: ctx.callID ?? '',
      roomID: ctx.roomID,
      reason: CallEndReason.DISCONNECTED,
    });
  }

  #onSignalClosed(signal: SignalClient, info: SignalClosedInfo): void {
    if (signal !== this.#signal || info.reason === 'closed') return;
    const ctx = this.#current;
    if (ctx) {
      const prev = this.#finish(ctx, CallError.callEnded(`the connection ${info.reason}`));
      if (prev === CallState.Connected) {
        this.emit(EngineEvent.CallEnded, {
          callID: ctx.callID!,
          roomID: ctx.roomID,
          reason: CallEndReason.DISCONNECTED,
        });
      }
    }
    this.#loggedOut();
    if (info.reason === 'kicked') this.emit(EngineEvent.Kicked, { reason: info.kickReason });
    else this.emit(EngineEvent.Error, info.error);
  }

  // ---- call plumbing -------------------------------------------------------------------------

  // Runs synchronously on the accept/join reply, so pushes right behind it find the call connected.
  #joined(ctx: CallContext, result: JoinedCall): void {
    if (ctx.ended || this.#current !== ctx) {
      void this.#leaveOnServer(result.callID);
      throw CallError.callEnded('the invitation ended while accepting');
    }
    ctx.callID = result.callID;
    ctx.callType = result.callType;
    ctx.roomID = result.roomID;
    // A call that moved to the SFU while it rang drops the peer-to-peer pre-connection.
    if (ctx.media !== result.media && ctx.session) this.#dropPreconnection(ctx, { tell: false });
    ctx.media = result.media;
    ctx.invitees = new Set(result.inviteeList);
    if (result.groupID !== undefined) ctx.groupID = result.groupID;
    ctx.group ||=
      result.media === MediaMode.SFU || result.members.length > 1 || result.inviteeList.length > 0;
    this.#unhold(ctx);
    this.#setState(CallState.Connected);
    if (result.media === MediaMode.SFU) this.#ensureSession(ctx);
    for (const member of result.members) {
      if (member.userID !== this.#userID)
        this.#memberJoined(ctx, { callID: ctx.callID!, ...member }, false);
    }
  }

  #memberJoined(
    ctx: CallContext,
    member: CallMember & { callID: string },
    initiator: boolean,
  ): void {
    const known = ctx.members.get(member.userID);
    if (known) return;
    ctx.invitees.delete(member.userID);
    ctx.members.set(member.userID, { audio: member.audio, video: member.video });
    this.#unhold(ctx);
    if (this.state === CallState.Dialing) this.#setState(CallState.Connected);
    this.emit(EngineEvent.UserEnter, {
      callID: member.callID,
      userID: member.userID,
      audio: member.audio,
      video: member.video,
    });
    if (ctx.ended) return; // a listener hung up
    const session = this.#ensureSession(ctx);
    try {
      // A peer pre-connected while it rang is there already (and sends since #unhold above).
      session.addPeer(member.userID, { initiator });
      session.setRemoteMedia(member.userID, { audio: member.audio, video: member.video });
    } catch (error) {
      this.emit(EngineEvent.Error, CallError.from(error));
      return;
    }
    for (const { from, data } of ctx.early.splice(0)) {
      session.handleSignal(from, data).catch(() => {});
    }
  }

  /** Moves the call's media to `media`: the old session closes, local tracks stay. */
  #useMedia(ctx: CallContext, media: MediaMode): void {
    if (ctx.media === media) return;
    this.#log.info(`call ${ctx.callID} media ${ctx.media} -> ${media}`);
    ctx.media = media;
    if (media === MediaMode.SFU) ctx.group = true;
    this.#closeSession(ctx);
    // Members stay members: the new session picks up their media (SFU) or is made on demand (P2P).
    if (media === MediaMode.SFU) this.#ensureSession(ctx);
  }

  #ensureSession(ctx: CallContext): MediaSession {
    if (ctx.session) return ctx.session;
    const callID = ctx.callID!;
    const session = this.#options.media.createSession({
      media: ctx.media,
      sfu: ctx.media === MediaMode.SFU ? this.#sfuSignalling(ctx) : undefined,
      ...this.#iceConfig(),
      connection: this.#options.connection,
      localTracks: ctx.held
        ? { audio: null, video: null }
        : { audio: this.#outgoing('audio'), video: this.#outgoing('video') },
      maxVideoBitrate: videoProfiles[this.#local.quality].maxBitrate,
      logger: this.#log,
    });
    ctx.session = session;
    session.events.on(SessionEvent.Signal, (to, data) => {
      if (ctx.ended) return;
      const signal = this.#signal;
      signal?.notify('signal', { callID, to, data }).catch((error: unknown) => {
        // Not dropped: when the connection resumes, the session negotiates again (resync).
        this.#log.warn(`relaying ${data.description ? 'SDP' : 'ICE'} to ${to} failed`, error);
        if (signal.state === SignalState.Connected && !ctx.ended) session.resync();
      });
    });
    session.events.on(SessionEvent.MediaStalled, (who) => {
      // The path that died may have taken the signalling socket with it: check it now, so that a
      // dead one is replaced (and the pushes sent to it replayed) in a second rather than minutes.
      if (ctx.ended) return;
      this.#log.info(`media from ${who} stopped: checking the connection to the server`);
      this.#signal?.probe();
    });
    session.events.on(SessionEvent.Track, (userID, track, receiver) => {
      if (!ctx.ended) this.emit(EngineEvent.RemoteTrack, userID, track, receiver);
    });
    session.events.on(SessionEvent.Failed, (userID, reason) =>
      this.#mediaFailed(ctx, userID, reason),
    );
    session.events.on(SessionEvent.Error, (userID, error) => {
      if (ctx.held && ctx.media === MediaMode.SFU && ctx.session === session) {
        // The SFU refused the pre-connection (an older server, ring-all devices): nothing is
        // lost, the call connects when answered.
        this.#log.info(`the pre-connection to the SFU failed (${userID}); dropped`, error);
        this.#dropPreconnection(ctx);
        return;
      }
      this.#log.error(`media with ${userID} failed`, error);
      // A peer-to-peer glitch may recover by itself; the SFU refusing us means no media at all.
      if (ctx.media === MediaMode.SFU && !ctx.ended) {
        this.emit(EngineEvent.Error, CallError.from(error));
      }
    });
    for (const [userID, substream] of ctx.layers) session.requestLayer(userID, substream);
    for (const [userID, media] of ctx.members) session.setRemoteMedia(userID, media);
    session.start();
    // One timer per call, whichever session serves it now (a 1:1 call may move to the SFU).
    if (!ctx.ended) {
      ctx.qualityTimer ??= setInterval(
        () => void this.#readQuality(ctx),
        this.#options.networkQualityIntervalMs ?? NETWORK_QUALITY_INTERVAL_MS,
      );
    }
    return session;
  }

  /** The ICE servers and policy for peer connections made now. */
  #iceConfig(): { iceServers: IceServer[]; iceTransportPolicy: IceTransportPolicy } {
    const config = this.#pushedIce ?? this.#signal?.session;
    return {
      iceServers: config?.iceServers ?? [],
      iceTransportPolicy: effectiveIcePolicy(
        this.#options.iceTransportPolicy,
        config?.iceTransportPolicy,
      ),
    };
  }

  /** Hands the current ICE configuration to the live session (new TURN credentials). */
  #applyIceConfig(): void {
    const session = this.#current?.session;
    if (!session || session.closed) return;
    const { iceServers, iceTransportPolicy } = this.#iceConfig();
    session.setIceConfig(iceServers, iceTransportPolicy);
  }

  /**
   * A media connection of `ctx` never connected or did not come back: ERROR 60120, then we leave
   * the call (CALL_END here; the others see USER_LEAVE, or CALL_END in a 1:1 call).
   */
  #mediaFailed(ctx: CallContext, who: string, reason: string): void {
    if (ctx.ended || this.#current !== ctx) return;
    if (ctx.held) {
      // Only the pre-connection failed: the call goes on, and connects anew when answered.
      this.#log.info(`the pre-connection with ${who} failed (${reason}); dropped`);
      this.#dropPreconnection(ctx);
      return;
    }
    const target = who.startsWith('sfu:') ? `the SFU (${who.slice(4)})` : who;
    this.#log.warn(`media with ${target} failed (${reason}): leaving the call`);
    this.emit(EngineEvent.Error, CallError.mediaConnectFailed(`with ${target}: ${reason}`));
    this.hangup().catch((error: unknown) =>
      this.#log.warn('leaving the failed call failed', error),
    );
  }

  /** Reports the link quality of `ctx`'s media, while it is connected (never once it ended). */
  async #readQuality(ctx: CallContext): Promise<void> {
    const session = ctx.session;
    if (!session || session.closed || ctx.readingQuality || this.state !== CallState.Connected) {
      return;
    }
    ctx.readingQuality = true;
    try {
      const quality = await session.networkQuality();
      // The call may have ended, or moved to another session, while getStats ran.
      if (ctx.ended || this.#current !== ctx || ctx.session !== session) return;
      this.emit(EngineEvent.NetworkQuality, {
        local: quality.local,
        remote: [...ctx.members.keys()].map((userID) => ({
          userID,
          quality: quality.remote.get(userID) ?? NetworkQuality.Unknown,
        })),
      });
    } catch (error) {
      // A connection closing under getStats: the next reading (if any) is on the new one.
      if (!ctx.ended) this.#log.debug('reading the call statistics failed', error);
    } finally {
      ctx.readingQuality = false;
    }
  }

  /** The SFU requests of `ctx`'s call, over the current connection. */
  #sfuSignalling(ctx: CallContext): SfuSignalling {
    const callID = ctx.callID!;
    const signal = (): SignalClient => {
      const current = this.#signal;
      if (!current || ctx.ended) throw CallError.callEnded('the SFU request came after the call');
      return current;
    };
    return {
      publish: async (description) =>
        (await signal().request('sfuPublish', { callID, description })).description,
      answer: async (description) => {
        await signal().request('sfuAnswer', { callID, description });
      },
      trickle: async (target, candidate) => {
        await signal().request('sfuTrickle', {
          callID,
          target,
          ...(candidate ? { candidate } : {}),
        });
      },
      setLayer: async (userID, substream) => {
        await signal().request('sfuLayer', { callID, userID, substream });
      },
      restartSubscriber: async () => {
        await signal().request('sfuRestart', { callID });
      },
    };
  }

  /**
   * Ends `ctx` locally (idempotent): aborts its waits with `reason`, closes its media and returns
   * to idle. Returns the state it ended from (events are the caller's to emit).
   */
  #finish(ctx: CallContext, reason: CallError): CallState {
    const prev = this.state;
    if (ctx.ended) return prev;
    ctx.ended = true;
    if (!ctx.controller.signal.aborted) ctx.controller.abort(reason);
    clearInterval(ctx.qualityTimer);
    ctx.qualityTimer = undefined;
    ctx.session?.close();
    ctx.early = [];
    if (this.#current !== ctx) return prev;
    this.#current = undefined;
    this.#local.release();
    this.#setState(CallState.Idle);
    return prev;
  }

  /** Tells the server we are out of `ctx`, then ends it locally (emitting CALL_END if connected). */
  async #leave(ctx: CallContext): Promise<void> {
    const state = this.state;
    this.#finish(ctx, hungUpLocally);
    if (state === CallState.Connected) {
      this.emit(EngineEvent.CallEnded, {
        callID: ctx.callID!,
        roomID: ctx.roomID,
        reason: CallEndReason.HANGUP,
        userID: this.#userID!,
      });
      await this.#leaveOnServer(ctx.callID!);
    } else if (state === CallState.Dialing) {
      // Later invitations into the call are not the first one's: leaving cancels them all.
      if (ctx.moreInvites) await this.#leaveOnServer(ctx.callID!);
      else if (ctx.callID) await this.#cancelOnServer(ctx);
    } else if (state === CallState.BeInvited) {
      await this.#signal
        ?.request('reject', { inviteID: ctx.inviteID! })
        .catch((error: unknown) => this.#log.info('reject on hangup failed', error));
    }
  }

  async #cancelOnServer(ctx: CallContext): Promise<void> {
    const signal = this.#signal;
    if (!signal || !ctx.inviteID) return;
    try {
      await signal.request('cancel', { inviteID: ctx.inviteID });
    } catch (error) {
      // The callee answered as we cancelled: the call exists, so leave it.
      this.#log.info('cancel failed; leaving the call instead', error);
      await this.#leaveOnServer(ctx.callID!);
    }
  }

  async #leaveOnServer(callID: string): Promise<void> {
    const signal = this.#signal;
    if (!signal) return;
    try {
      await signal.request('hangup', { callID });
    } catch (error) {
      if (isConnectionError(error)) this.#orphans.add(callID);
      this.#log.info(`hangup of ${callID} failed`, error);
    }
  }

  #flushOrphans(signal: SignalClient): void {
    for (const callID of this.#orphans) {
      this.#orphans.delete(callID);
      signal.request('hangup', { callID }).catch(() => {});
    }
  }

  async #sendMediaState(ctx: CallContext): Promise<void> {
    const signal = this.#signal;
    const joined =
      this.state === CallState.Connected ||
      (this.state === CallState.Dialing && ctx.role === 'caller');
    if (!signal || ctx.ended || !ctx.callID || !joined) return;
    try {
      await signal.request('media', { callID: ctx.callID, ...this.#local.mediaState });
    } catch (error) {
      // The server may have ended the call meanwhile (e.g. the callee was busy): nothing to tell.
      if (ctx.ended) return;
      this.#log.warn('sending the media state failed', error);
    }
  }

  #newContext(role: CallContext['role'], callType: CallType, sponsor: string): CallContext {
    return {
      role,
      group: false,
      media: MediaMode.P2P,
      moreInvites: false,
      layers: new Map(),
      controller: new AbortController(),
      callType,
      sponsor,
      invitees: new Set(),
      members: new Map(),
      readingQuality: false,
      held: false,
      early: [],
      mediaDownAtLeave: false,
      ended: false,
    };
  }

  #ctxFor(callID: string): CallContext | undefined {
    const ctx = this.#current;
    return ctx && !ctx.ended && ctx.callID === callID ? ctx : undefined;
  }

  #requireLogin(operation: string): SignalClient {
    const signal = this.#signal;
    if (!signal || !this.loggedIn) throw CallError.notLoggedIn(operation);
    return signal;
  }

  #loggedOut(): void {
    this.#signal = undefined;
    this.#pushedIce = undefined;
    this.#userID = undefined;
    this.#orphans.clear();
    const ctx = this.#current;
    if (ctx) this.#finish(ctx, CallError.notLoggedIn('the call'));
    this.#local.release();
  }

  /** The one way the call state changes: logs prev -> next, emits, refuses illegal moves. */
  #setState(next: CallState): void {
    this.#machine.set(next);
  }
}

/** A push's own fields, without the envelope (`type`, `seq`). */
function fields<T extends { seq: number }>(push: T): Omit<T, 'seq' | 'type'> {
  const copy: Record<string, unknown> = { ...push };
  delete copy.seq;
  delete copy.type;
  return copy as Omit<T, 'seq' | 'type'>;
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === SdkErrorCode.SIGNAL_TIMEOUT || code === SdkErrorCode.SIGNAL_DISCONNECTED;
}

function isGoneError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    code === ServerErrorCode.INVITATION_NOT_FOUND ||
    code === ServerErrorCode.INVITATION_ALREADY_HANDLED
  );
}
