import {
  BLUR_ASSET_PATH,
  CallEndReason,
  CallType,
  MAX_INVITEES,
  MAX_INVITE_TIMEOUT_S,
  SIGNAL_PATH,
  USER_ID_PATTERN,
  type CallHistoryPage,
  type IceTransportPolicy,
  type MissedCalls,
  type OfflinePushInfo,
  type UserCallHistoryCall,
} from '@ringline/protocol';
import { CallEngine } from './engine/CallEngine.js';
import { CallState } from './engine/CallState.js';
import { EngineEvent } from './engine/EngineEvent.js';
import { CallError } from './errors.js';
import { TypedEmitter } from './events/Emitter.js';
import { TRTCCallingEvent, type TRTCCallingCallbacks } from './events/TRTCCallingEvent.js';
import { BackgroundBlur } from './media/blur/BackgroundBlur.js';
import { createBrowserBackend } from './media/browserBackend.js';
import type { ConnectionTimings } from './media/ConnectionWatchdog.js';
import type { DeviceInfo } from './media/LocalMedia.js';
import type { MediaBackend } from './media/MediaBackend.js';
import { NetworkQuality } from './media/networkQuality.js';
import { isVideoQuality, type VideoQuality } from './media/videoQuality.js';
import type { SignalClientOptions, WebSocketConstructor } from './signal/SignalClient.js';
import { createLogger, isLogLevel, type Logger, type LogLevel } from './util/logger.js';
import { VOICE_VOLUME_INTERVAL_MS, VoiceVolumeMeter } from './media/voiceVolume.js';
import { defaultServer } from './util/defaultServer.js';
import {
  HistoryClient,
  httpBase,
  type HistoryPageOptions,
  type MarkSeenOptions,
  type MarkSeenResult,
} from './history/HistoryClient.js';
import { MediaViews } from './view/MediaViews.js';

/** Options of `new TRTCCalling(options)`. */
export interface TRTCCallingOptions {
  /** The SDKAppID the Ringline server serves (a numeric string, as apps read from env, too). */
  SDKAppID: number | string;
  /**
   * The Ringline server's http(s) URL; default: the origin the SDK's script was loaded from (the
   * script-tag and ESM bundles), else the page's origin.
   */
  server?: string;
  /** Accepted for compatibility with trtc-calling-js, and ignored. */
  tim?: unknown;
  /** Ringline extension: how much the SDK logs to the console (default `warn`). */
  logLevel?: LogLevel;
  /**
   * Ringline extension: `relay` sends all media through the TURN server, so the other members
   * never learn this user's IP address (the server may ask for `relay` too; either is enough).
   * Default `all`.
   */
  iceTransportPolicy?: IceTransportPolicy;
  /**
   * Ringline extension: connect a one-to-one call's media while it rings (ICE and DTLS, nothing
   * sent before the answer), so that both sides see each other the moment the callee accepts. The
   * two sides then learn each other's network addresses before the call is answered, even if it
   * never is. `'auto'` (default): only when the ICE policy is `relay`, where the addresses
   * exchanged are the TURN server's. Both sides must have it on. A group call's invitee connects
   * to the SFU instead (only its own option counts; the SFU learns its addresses).
   */
  preconnect?: boolean | 'auto';
}

/**
 * Seams for embedding and tests (not part of the trtc-calling-js API): a WebSocket class for Node,
 * a media backend, a logger, and connection timing.
 * @internal
 */
export interface TRTCCallingDeps {
  WebSocket?: WebSocketConstructor;
  media?: MediaBackend;
  logger?: Logger;
  requestTimeoutMs?: number;
  reconnect?: SignalClientOptions['reconnect'];
  /** How often NETWORK_QUALITY fires during a call, ms (default 2000). */
  networkQualityIntervalMs?: number;
  /** When media connections restart ICE and are given up (defaults: defaultConnectionTimings). */
  connection?: Partial<ConnectionTimings>;
  /** The fetch the call history uses (default: the global one). */
  fetch?: typeof globalThis.fetch;
}

/** `1`: audio call, `2`: video call. */
export type TRTCCallType = 1 | 2;

/** trtc-calling-js 1.0.6's `setLogLevel` levels: 0 everything … 4 nothing. */
export type TRTCLogLevel = 0 | 1 | 2 | 3 | 4;

/** `getCallStatus()` values, as trtc-calling-js 1.0.6's CALL_STATUS. */
export type TRTCCallStatus = 'idle' | 'calling' | 'connected';

/**
 * What 1.0.6 resolves for call/groupCall (with groupID)/reject (TSignaling's answer): `code` 0, the
 * invitation's ID and `data.message` (the signalling message: from, to, conversationType).
 */
export interface SignalingResult {
  code: 0;
  inviteID: string;
  data: { message: SignalingMessage };
}

/** The signalling message in `SignalingResult.data.message` (the fields 1.0.6 and apps read). */
export interface SignalingMessage {
  /** 1 (C2C, a user) or 2 (GROUP), as Tencent IM's conversation types. */
  conversationType: 1 | 2;
  from: string;
  /** The user (C2C) or group (GROUP) the message went to. */
  to: string;
  /** The signalling payload, JSON. */
  payload: { data: string };
}

/** What 1.0.6's `groupCall` without groupID resolves: one result per invitee. */
export interface GroupSignalingResult {
  code: 0;
  data: SignalingResult[];
}

/** What 1.0.6's `accept` resolves: the room joined and the accept signal's result. */
export interface AcceptResult extends SignalingResult {
  roomID: number;
  callType: TRTCCallType;
}

/** What 1.0.6's `login` resolves (TIM's login answer). */
export interface LoginResult {
  code: 0;
  data: { repeatLogin: boolean; actionStatus: 'OK'; errorCode: 0; errorInfo: '' };
}

/** What 1.0.6's `hangup` resolves when it had no invitation to cancel. */
export interface HangupResult {
  code: 0;
  msg: 'ok';
}

/** Ringline's CallState as trtc-calling-js's CALL_STATUS. */
const callStatus: Record<CallState, TRTCCallStatus> = {
  [CallState.Idle]: 'idle',
  [CallState.Dialing]: 'calling',
  [CallState.BeInvited]: 'calling',
  [CallState.Connected]: 'connected',
};

const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** `inviteData.version` of INVITED, the value trtc-calling-js 1.x sends. */
const INVITE_DATA_VERSION = 4;

const userIdPattern = new RegExp(USER_ID_PATTERN);

/**
 * Ringline's drop-in replacement for trtc-calling-js: the same API, events, payloads and error codes,
 * over a Ringline server (`server`) instead of Tencent's TRTC + IM.
 */
export default class TRTCCalling {
  /** The event names, as in trtc-calling-js 1.0.6 (CALLING_END is CALL_END's alias there too). */
  static readonly EVENT = Object.freeze({
    ...TRTCCallingEvent,
    CALLING_END: TRTCCallingEvent.CALL_END,
  } as const);
  /** Call types, as in trtc-calling-js 1.0.6 (its enum's reverse keys included). */
  static readonly CALL_TYPE = Object.freeze({
    UNKNOWN: 0,
    AUDIO_CALL: 1,
    VIDEO_CALL: 2,
    0: 'UNKNOWN',
    1: 'AUDIO_CALL',
    2: 'VIDEO_CALL',
  } as const);
  /** Ringline extension: the levels of NETWORK_QUALITY, TRTC's `TRTCQuality` scale. */
  static readonly NETWORK_QUALITY = Object.freeze({
    UNKNOWN: NetworkQuality.Unknown,
    EXCELLENT: NetworkQuality.Excellent,
    GOOD: NetworkQuality.Good,
    POOR: NetworkQuality.Poor,
    BAD: NetworkQuality.Bad,
    VERY_BAD: NetworkQuality.VeryBad,
    DOWN: NetworkQuality.Down,
  } as const);

  readonly #events: TypedEmitter<TRTCCallingCallbacks>;
  readonly #engine: CallEngine;
  readonly #views: MediaViews | undefined;
  readonly #log: Logger;
  readonly #sdkAppID: number;
  // What was last announced of each remote user's mic and camera.
  readonly #remote = new Map<string, { audio: boolean; video: boolean }>();
  // When the current call connected (ms), for CALL_END's `callEnd` duration.
  #connectedAt: number | undefined;
  // The server's http(s) URL as given (undefined: the page's origin), for /sdk/blur/ assets.
  readonly #server: string | undefined;
  // Counts setBackgroundBlur calls: a slow enable finishing after a later call is dropped.
  #blurSeq = 0;
  #logLevel: LogLevel;
  // What 1.0.6's getters report; reset when a call ends, as its _resetTRTCClient does.
  #userID = '';
  #isInviter = false;
  #isGroupCall = false;
  #groupID: string | undefined;
  #inviteeList: string[] = [];
  #callType: 0 | TRTCCallType = 0;
  #quality: VideoQuality = '480p';
  // Invitees (of the local user's call) who have not entered yet: their entry is USER_ACCEPT.
  readonly #awaiting = new Set<string>();
  // Who last left the call: a call that ends when the other side hangs up names them (CALL_END).
  #lastLeft: string | undefined;
  readonly #meter = VoiceVolumeMeter.supported() ? new VoiceVolumeMeter() : undefined;
  // The call history over HTTP, with the userSig of the last successful login.
  readonly #history: HistoryClient;
  #userSig: string | undefined;
  #meterTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: TRTCCallingOptions, deps: TRTCCallingDeps = {}) {
    this.#logLevel = isLogLevel(options?.logLevel) ? options.logLevel : 'warn';
    const log = deps.logger ?? createLogger(() => this.#logLevel);
    this.#log = log;
    const sdkAppID = toSdkAppID(options?.SDKAppID);
    this.#sdkAppID = sdkAppID;
    this.#server = options.server;
    const media = deps.media ?? createBrowserBackend();
    this.#events = new TypedEmitter<TRTCCallingCallbacks>((error, event) =>
      log.error(`the app's ${event} listener threw`, error),
    );
    this.#engine = new CallEngine({
      sdkAppID,
      signalUrl: signalUrl(options.server ?? defaultServer()),
      media,
      logger: log,
      WebSocket: deps.WebSocket,
      requestTimeoutMs: deps.requestTimeoutMs,
      reconnect: deps.reconnect,
      networkQualityIntervalMs: deps.networkQualityIntervalMs,
      iceTransportPolicy: toIcePolicy(options?.iceTransportPolicy),
      preconnect: toPreconnect(options?.preconnect),
      connection: deps.connection,
    });
    const server = options.server ?? defaultServer();
    // signalUrl above already refused a server that is not a URL.
    this.#history = new HistoryClient(
      httpBase(String(server ?? 'http://localhost')),
      () =>
        this.#engine.loggedIn && this.#userSig !== undefined
          ? { userID: this.#userID, userSig: this.#userSig, deviceID: this.#engine.sessionID }
          : undefined,
      deps.fetch,
    );
    const doc = (globalThis as { document?: Document }).document;
    this.#views = doc
      ? new MediaViews(doc, log, (userID, substream) =>
          this.#engine.requestLayer(userID, substream),
        )
      : undefined;
    this.#wire();
    const missing = media.unsupported({ capture: false });
    if (missing) {
      // Reported once the app had the chance to subscribe (right after construction).
      setTimeout(() => this.#report(CallError.webrtcUnsupported(missing)), 0);
    }
  }

  /**
   * How much the SDK logs: trtc-calling-js's levels 0 (everything) … 4 (nothing), or a Ringline
   * level name ('debug' … 'silent').
   */
  setLogLevel(level: TRTCLogLevel | LogLevel): void {
    const name = typeof level === 'number' ? logLevels[level] : level;
    if (!isLogLevel(name)) {
      throw CallError.invalidArgument('level', "0 (all) to 4 (none), or 'debug' … 'silent'");
    }
    this.#logLevel = name;
  }

  /**
   * Subscribes `callback` to `eventName`; it is called with `this` = `context`, or this instance
   * when no context is given (as trtc-calling-js).
   */
  on<K extends TRTCCallingEvent>(
    eventName: K | `${K}`,
    callback: TRTCCallingCallbacks[K],
    context?: unknown,
  ): void {
    if (typeof callback !== 'function') {
      throw CallError.invalidArgument('callback', `a function for ${String(eventName)}`);
    }
    this.#events.on(eventName as K, callback, context ?? this);
  }

  /** Unsubscribes the (callback, context) pair from `eventName` (no context: this instance). */
  off<K extends TRTCCallingEvent>(
    eventName: K | `${K}`,
    callback?: TRTCCallingCallbacks[K],
    context?: unknown,
  ): void {
    this.#events.off(eventName as K, callback, context ?? this);
  }

  /** 'idle', 'calling' (dialing or ringing here) or 'connected', as trtc-calling-js. */
  getCallStatus(): TRTCCallStatus {
    return callStatus[this.#engine.state];
  }

  /** The camera profile last set with setVideoQuality ('480p' by default). */
  getVideoQuality(): VideoQuality {
    return this.#quality;
  }

  /** Whether the current call is a group call (groupCall, or an invitation of a group). */
  isGroupCall(): boolean {
    return this.#isGroupCall;
  }

  /** Whether the local user started the current call. */
  isInviter(): boolean {
    return this.#isInviter;
  }

  /** The invitees of the current group call ([] for a one-to-one call, as trtc-calling-js). */
  getInviteeList(): string[] {
    return [...this.#inviteeList];
  }

  /** The group of the current group call ('' when none; undefined before any call). */
  getGroupID(): string | undefined {
    return this.#groupID;
  }

  /** The user given to login ('' before login and after logout). */
  getUserID(): string {
    return this.#userID;
  }

  /** The type of the current (or last) call: 1 audio, 2 video, 0 before any call. */
  getCallType(): 0 | TRTCCallType {
    return this.#callType;
  }

  /** Whether another member's media reached this call. */
  hasRemoteConnectedUsers(): boolean {
    return this.getRemoteStreamCount() > 0;
  }

  /** How many other members are in the call with us. */
  getRemoteStreamCount(): number {
    return this.#remote.size;
  }

  /** Logs in to the Ringline server; SDK_READY follows. Resolves as TIM's login (`code` 0). */
  login(params: { userID: string; userSig: string }): Promise<LoginResult> {
    return this.#run(async () => {
      const { userID, userSig } = params ?? ({} as { userID?: unknown; userSig?: unknown });
      checkUserID(userID);
      if (typeof userSig !== 'string' || !userSig) {
        throw CallError.invalidArgument('userSig', 'a non-empty string');
      }
      const repeatLogin = this.#engine.loggedIn && this.#userID === userID;
      this.#userID = userID;
      await this.#engine.login({ sdkAppID: this.#sdkAppID, userID, userSig });
      this.#userSig = userSig;
      return {
        code: 0,
        data: { repeatLogin, actionStatus: 'OK', errorCode: 0, errorInfo: '' },
      } as const;
    });
  }

  /** Logs out; a call in progress is ended first. Resolves `{code: 0}` as TIM's logout. */
  logout(): Promise<{ code: 0; data: Record<string, never> }> {
    return this.#run(async () => {
      await this.#engine.logout();
      this.#userID = '';
      this.#userSig = undefined;
      return { code: 0, data: {} } as const;
    });
  }

  /**
   * Ringline extension: the logged-in user's calls, newest first — each with its members, the
   * user's own outcome, and whether it was a missed call (and seen). Pass the previous page's
   * `next` as `cursor` for the following page. Rejects NOT_LOGGED_IN (40100) before login.
   */
  getCallHistory(options: HistoryPageOptions = {}): Promise<CallHistoryPage<UserCallHistoryCall>> {
    return this.#run(async () => this.#history.calls(options));
  }

  /**
   * Ringline extension: the logged-in user's missed calls (rung and never answered: no answer,
   * cancelled by the caller), newest first, with `unread`, how many are not marked seen.
   */
  getMissedCalls(options: HistoryPageOptions = {}): Promise<MissedCalls> {
    return this.#run(async () => this.#history.missed(options));
  }

  /**
   * Ringline extension: marks missed calls seen — those named (`{callIDs}`), those of calls
   * started up to a time (`{before}`, Unix ms), or, with nothing given, all of them.
   */
  markMissedCallsSeen(which?: MarkSeenOptions): Promise<MarkSeenResult> {
    return this.#run(async () => this.#history.markSeen(which));
  }

  /**
   * Calls `userID` (type 1: audio, 2: video). Takes the camera/mic first; resolves once the
   * invitation rings. `timeout` (seconds; 0 = as long as the server allows, its --max-ring-time) is
   * the pre-1.0 parameter.
   */
  call(params: {
    userID: string;
    type: TRTCCallType;
    offlinePushInfo?: OfflinePushInfo;
    timeout?: number;
  }): Promise<SignalingResult> {
    return this.#run(async () => {
      const { userID, type, timeout, offlinePushInfo } = params ?? ({} as Record<string, never>);
      checkUserID(userID);
      const callType = checkCallType(type);
      checkTimeout(timeout);
      await this.#engine.call({
        userID,
        callType,
        timeout,
        offlinePushInfo: pushInfo(offlinePushInfo),
      });
      this.#startedCall({ group: false, groupID: '', invitees: [userID], callType });
      return this.#signalingResult(userID, 'C2C');
    });
  }

  /**
   * Invites several users to one call (type 1: audio, 2: video); with `groupID`, through that
   * group (the invitees see `isFromGroup: true`). Takes the camera/mic first; resolves once the
   * invitations ring. Media goes through the server's SFU; without one it fails with
   * SFU_UNAVAILABLE (50300).
   */
  groupCall(params: {
    userIDList: string[];
    type: TRTCCallType;
    groupID?: string;
    offlinePushInfo?: OfflinePushInfo;
    timeout?: number;
  }): Promise<SignalingResult | GroupSignalingResult> {
    return this.#run(async () => {
      const { userIDList, type, groupID, timeout, offlinePushInfo } =
        params ?? ({} as Record<string, never>);
      const invitees = checkUserIDList(userIDList);
      const callType = checkCallType(type);
      checkTimeout(timeout);
      const group = checkGroupID(groupID, false);
      await this.#engine.groupCall({
        userIDList: invitees,
        callType,
        groupID: group,
        timeout,
        offlinePushInfo: pushInfo(offlinePushInfo),
      });
      this.#startedCall({ group: true, groupID: group ?? '', invitees, callType });
      // 1.0.6 answers a group's invitation once, and invitations without a group one per invitee.
      if (group !== undefined) return this.#signalingResult(group, 'GROUP');
      return { code: 0, data: invitees.map((to) => this.#signalingResult(to, 'C2C')) } as const;
    });
  }

  /**
   * Ringline/TUICallKit extension: invites more users into the call in progress. A one-to-one
   * call that gains a third person becomes a group call, without anyone redialling.
   */
  inviteUser(params: { userIDList: string[] }): Promise<void> {
    return this.#run(async () => {
      const invitees = checkUserIDList(params?.userIDList);
      await this.#engine.inviteUser(invitees);
      for (const userID of invitees) this.#awaiting.add(userID);
      this.#inviteeList = [...new Set([...this.#inviteeList, ...invitees])];
      this.#isGroupCall = true;
    });
  }

  /**
   * TUICallKit's joinInGroupCall: joins the ongoing call of a group the user is a member of,
   * without an invitation (type 1: audio, 2: video). Fails with NOT_GROUP_MEMBER (40303) for a
   * non-member and CALL_NOT_FOUND (40401) when the group has no call.
   */
  joinInGroupCall(params: { groupID: string; type: TRTCCallType }): Promise<void> {
    return this.#run(async () => {
      const groupID = checkGroupID(params?.groupID, true)!;
      const callType = checkCallType(params.type);
      await this.#engine.join({ groupID, callType });
      this.#isGroupCall = true;
      this.#groupID = groupID;
      this.#callType = callType;
    });
  }

  /**
   * Accepts the ringing invitation (pre-1.0: `{inviteID, roomID, callType}`). Resolves as 1.0.6:
   * the accept signal's result with the room's `roomID` and `callType`.
   */
  accept(params?: {
    inviteID?: string;
    roomID?: number;
    callType?: TRTCCallType;
  }): Promise<AcceptResult> {
    return this.#run(async () => {
      await this.#engine.accept(params?.inviteID);
      const call = this.#engine.currentCall;
      const inviteID = call?.inviteID ?? params?.inviteID ?? '';
      return {
        ...this.#signalingResult(this.#sponsor, 'C2C', inviteID),
        roomID: call?.roomID ?? 0,
        callType: call?.callType ?? (this.#callType || CallType.VIDEO),
      };
    });
  }

  /**
   * Rejects the ringing invitation (pre-1.0: `{inviteID, isBusy, callType}`). Resolves the reject
   * signal's result, as 1.0.6.
   */
  reject(params?: {
    inviteID?: string;
    isBusy?: boolean;
    callType?: TRTCCallType;
  }): Promise<SignalingResult> {
    return this.#run(async () => {
      const inviteID = this.#engine.currentCall?.inviteID ?? params?.inviteID ?? '';
      const sponsor = this.#sponsor;
      await this.#engine.reject({ inviteID: params?.inviteID, busy: params?.isBusy === true });
      return this.#signalingResult(sponsor, 'C2C', inviteID);
    });
  }

  /**
   * Cancels the call when dialing, rejects when invited, leaves when in a call. Resolves as 1.0.6
   * when there was no invitation of ours to cancel: `{code: 0, msg: 'ok'}`.
   */
  hangup(): Promise<HangupResult | SignalingResult[]> {
    return this.#run(async () => {
      // Dialing, 1.0.6 cancels each invitation still ringing and resolves their results.
      const cancelled =
        this.#engine.state === CallState.Dialing && this.#isInviter ? this.#cancelledResults() : [];
      await this.#engine.hangup();
      return cancelled.length ? cancelled : ({ code: 0, msg: 'ok' } as const);
    });
  }

  /** Renders the local camera in the DOM node `videoViewDomID` (a preview when idle). */
  startLocalView(params: { userID: string; videoViewDomID: string }): Promise<void> {
    return this.#run(async () => {
      const views = this.#requireViews();
      const domID = checkDomID(params?.videoViewDomID);
      views.setLocalTrack(this.#engine.sentTrack('video'));
      views.startLocal(String(params.userID ?? this.#engine.userID ?? ''), domID);
      if (this.#engine.state === CallState.Idle) await this.#engine.startPreview();
    });
  }

  /** Removes the local view (pre-1.0 `videoViewDomID` accepted); stops an idle preview. */
  stopLocalView(_params?: { userID?: string; videoViewDomID?: string }): Promise<void> {
    return this.#run(async () => {
      this.#views?.stopLocal();
      this.#engine.stopPreview();
    });
  }

  /** Renders `userID`'s video in the DOM node `videoViewDomID`. */
  startRemoteView(params: { userID: string; videoViewDomID: string }): Promise<void> {
    return this.#run(async () => {
      const views = this.#requireViews();
      const domID = checkDomID(params?.videoViewDomID);
      checkUserID(params.userID);
      views.startRemote(params.userID, domID);
    });
  }

  /** Removes `userID`'s view (pre-1.0 `videoViewDomID` accepted). */
  stopRemoteView(params: { userID: string; videoViewDomID?: string }): Promise<void> {
    return this.#run(async () => {
      checkUserID(params?.userID);
      this.#views?.stopRemote(params.userID);
    });
  }

  /** Turns the camera on; the other user gets USER_VIDEO_AVAILABLE true. */
  openCamera(): Promise<void> {
    return this.#run(() => this.#engine.setCamera(true));
  }

  /** Turns the camera off; the other user gets USER_VIDEO_AVAILABLE false. */
  closeCamera(): Promise<void> {
    return this.#run(() => this.#engine.setCamera(false));
  }

  /** Mutes (true) or unmutes the mic; the other user gets USER_AUDIO_AVAILABLE. */
  setMicMute(isMute: boolean): Promise<void> {
    return this.#run(async () => {
      if (typeof isMute !== 'boolean') throw CallError.invalidArgument('isMute', 'a boolean');
      await this.#engine.setMicMuted(isMute);
    });
  }

  /**
   * Ringline extension (TUICallKit's muteSpeaker/unMuteSpeaker): stops (true) or resumes playing
   * the remote users' sound on this page. The others still hear this user.
   */
  setSpeakerMute(isMute: boolean): Promise<void> {
    return this.#run(async () => {
      if (typeof isMute !== 'boolean') throw CallError.invalidArgument('isMute', 'a boolean');
      this.#views?.setSpeakerMuted(isMute);
    });
  }

  /** Sets the camera profile: '480p' (640×480), '720p' (1280×720) or '1080p' (1920×1080). */
  setVideoQuality(profile: VideoQuality): Promise<void> {
    return this.#run(async () => {
      if (!isVideoQuality(profile)) {
        throw CallError.invalidArgument('profile', "'480p', '720p' or '1080p'");
      }
      await this.#engine.setVideoQuality(profile);
      this.#quality = profile;
    });
  }

  /** Switches the call (1:1 or group) from video to audio; everyone follows. Fails with 60001. */
  switchToAudioCall(): Promise<void> {
    return this.#run(async () => {
      await this.#engine.switchCallType(CallType.AUDIO);
      this.#callType = CallType.AUDIO;
    });
  }

  /** Switches the call (1:1 or group) from audio to video; everyone follows. Fails with 60002. */
  switchToVideoCall(): Promise<void> {
    return this.#run(async () => {
      await this.#engine.switchCallType(CallType.VIDEO);
      this.#callType = CallType.VIDEO;
    });
  }

  /**
   * Ringline extension: the microphone track the SDK sends, or null when it has none (no call, or
   * not taken yet). While muted it is the same track, disabled. For meters (a speaking indicator);
   * the SDK owns it: do not stop it. It changes with `switchDevice` and ends with the call.
   */
  getLocalAudioTrack(): MediaStreamTrack | null {
    return this.#engine.localTrack('audio');
  }

  /**
   * Ringline extension (TUICallKit's `setBlurBackground`): blurs the background of the video sent
   * to peers (`true`), or sends the camera as it is again (`false`). The person is found with
   * MediaPipe selfie segmentation (wasm + WebGL in this page), loaded from the server's /sdk/blur/
   * (`assetsUrl` to load it from elsewhere). It takes effect at once in a call and stays on for
   * later calls; the local preview shows the blurred picture too. Fails with 60110 if it cannot
   * start.
   */
  setBackgroundBlur(
    enable: boolean,
    options?: { radius?: number; assetsUrl?: string },
  ): Promise<void> {
    return this.#run(async () => {
      if (typeof enable !== 'boolean') throw CallError.invalidArgument('enable', 'a boolean');
      const { radius, assetsUrl } = options ?? {};
      if (radius !== undefined && !(Number.isFinite(radius) && radius >= 1 && radius <= 100)) {
        throw CallError.invalidArgument('radius', 'a number of pixels from 1 to 100');
      }
      if (assetsUrl !== undefined && typeof assetsUrl !== 'string') {
        throw CallError.invalidArgument('assetsUrl', 'the URL of the blur assets');
      }
      const seq = ++this.#blurSeq;
      if (!enable) {
        await this.#engine.setVideoFilter(undefined);
        return;
      }
      if (!(globalThis as { document?: Document }).document) {
        throw CallError.blurUnavailable('it needs a browser page');
      }
      let blur: BackgroundBlur;
      try {
        blur = await BackgroundBlur.create({
          assetBase: blurAssetBase(assetsUrl, this.#server),
          ...(radius !== undefined ? { radius } : {}),
          logger: this.#log,
        });
      } catch (error) {
        throw CallError.blurUnavailable(
          error instanceof Error ? error.message : String(error),
          error,
        );
      }
      if (seq !== this.#blurSeq) {
        blur.close();
        return;
      }
      await this.#engine.setVideoFilter(blur);
    });
  }

  /** The cameras of this machine. */
  getCameras(): Promise<DeviceInfo[]> {
    return this.#run(() => this.#engine.devices('videoinput'));
  }

  /** The microphones of this machine. */
  getMicrophones(): Promise<DeviceInfo[]> {
    return this.#run(() => this.#engine.devices('audioinput'));
  }

  /** Uses another camera (`video`) or mic (`audio`), without interrupting the call. */
  switchDevice(params: { deviceType: 'video' | 'audio'; deviceId: string }): Promise<void> {
    return this.#run(async () => {
      const { deviceType, deviceId } = params ?? ({} as Record<string, never>);
      if (deviceType !== 'video' && deviceType !== 'audio') {
        throw CallError.invalidArgument('deviceType', "'video' or 'audio'");
      }
      if (typeof deviceId !== 'string' || !deviceId) {
        throw CallError.invalidArgument('deviceId', 'a device id from getCameras/getMicrophones');
      }
      await this.#engine.switchDevice(deviceType, deviceId);
    });
  }

  // The state 1.0.6's getters report for a call the local user started.
  #startedCall(call: {
    group: boolean;
    groupID: string;
    invitees: string[];
    callType: CallType;
  }): void {
    // A call() that the app's own hangup() overtook left no call behind.
    if (!this.#engine.currentCall) return;
    this.#isInviter = true;
    this.#isGroupCall = call.group;
    this.#groupID = call.groupID;
    this.#inviteeList = call.group ? [...call.invitees] : [];
    this.#callType = call.callType;
    this.#awaiting.clear();
    for (const userID of call.invitees) this.#awaiting.add(userID);
  }

  // Who invited the local user into the current call ('' when nobody did).
  get #sponsor(): string {
    return this.#invitedBy ?? '';
  }

  #invitedBy: string | undefined;

  // What 1.0.6 resolves after a signalling operation: TSignaling's answer with the IM message.
  #signalingResult(
    to: string,
    kind: 'C2C' | 'GROUP',
    inviteID = this.#engine.currentCall?.inviteID ?? '',
  ): SignalingResult {
    const call = this.#engine.currentCall;
    const data = JSON.stringify({
      version: INVITE_DATA_VERSION,
      call_type: call?.callType ?? this.#callType,
      room_id: call?.roomID ?? 0,
    });
    return {
      code: 0,
      inviteID,
      data: {
        message: {
          conversationType: kind === 'GROUP' ? 2 : 1,
          from: this.#userID,
          to,
          payload: { data },
        },
      },
    };
  }

  #cancelledResults(): SignalingResult[] {
    const to = this.#groupID ? [this.#groupID] : [...this.#awaiting];
    return to.map((target) => this.#signalingResult(target, this.#groupID ? 'GROUP' : 'C2C'));
  }

  // USER_VOICE_VOLUME every second while connected, when the app listens and Web Audio exists.
  #startVoiceVolume(): void {
    const meter = this.#meter;
    if (!meter || this.#meterTimer) return;
    let reading = false; // getStats is async: a slow reading is not overlapped by the next
    this.#meterTimer = setInterval(() => {
      if (reading || !this.#events.listenerCount(TRTCCallingEvent.USER_VOICE_VOLUME)) return;
      reading = true;
      meter.setTrack(this.#userID, this.#engine.localTrack('audio'));
      void meter
        .read()
        .then((volumeMap) => {
          // The call may have ended while the levels were read.
          if (volumeMap.length && this.#meterTimer) {
            this.#events.emit(TRTCCallingEvent.USER_VOICE_VOLUME, { volumeMap });
          }
        })
        .finally(() => {
          reading = false;
        });
    }, VOICE_VOLUME_INTERVAL_MS);
  }

  #stopVoiceVolume(): void {
    clearInterval(this.#meterTimer);
    this.#meterTimer = undefined;
    this.#meter?.close();
  }

  // What a call left behind, cleared when it ends (1.0.6's _resetTRTCClient).
  #resetCall(): void {
    this.#isInviter = false;
    this.#isGroupCall = false;
    this.#groupID = '';
    this.#inviteeList = [];
    this.#awaiting.clear();
    this.#invitedBy = undefined;
    this.#stopVoiceVolume();
  }

  // Every failure reaches the app twice: as ERROR {code, message} and as the rejected promise.
  async #run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      const failure = CallError.from(error);
      this.#report(failure);
      throw failure;
    }
  }

  #report(error: CallError): void {
    this.#log.warn(`error ${error.code}: ${error.message}`);
    this.#events.emit(TRTCCallingEvent.ERROR, {
      code: error.code,
      message: error.message,
      msg: error.message,
    });
  }

  #requireViews(): MediaViews {
    if (!this.#views) throw CallError.webrtcUnsupported('document (views need a browser page)');
    return this.#views;
  }

  // Engine events become the seed's events and payloads.
  #wire(): void {
    const engine = this.#engine;
    const emit = this.#events.emit.bind(this.#events);
    engine.on(EngineEvent.StateChanged, (next) => {
      if (next === CallState.Connected) {
        this.#connectedAt = Date.now();
        this.#startVoiceVolume();
      }
      if (next === CallState.Dialing || next === CallState.BeInvited) {
        this.#connectedAt = undefined;
        this.#lastLeft = undefined;
      }
      if (next !== CallState.Idle) return;
      this.#remote.clear();
      this.#views?.clear();
      this.#resetCall();
    });
    const self = () => engine.userID ?? '';
    // CALL_END's `callEnd`: seconds connected (then forgotten), 0 for a call that never connected.
    const takeDuration = () => {
      const since = this.#connectedAt;
      this.#connectedAt = undefined;
      return since === undefined ? 0 : Math.round((Date.now() - since) / 1000);
    };
    // trtc-calling-js ends an unanswered 1:1 call with CALL_END after NO_RESP / CALLING_TIMEOUT
    // (not after REJECT, LINE_BUSY or CALLING_CANCEL); apps reset their UI on it.
    const endUnanswered = (callID: string, sponsor: string) =>
      emit(TRTCCallingEvent.CALL_END, {
        callID,
        reason: CallEndReason.NO_ANSWER,
        userID: sponsor,
        callEnd: takeDuration(),
      });
    engine.on(EngineEvent.Ready, ({ userID }) => emit(TRTCCallingEvent.SDK_READY, { userID }));
    engine.on(EngineEvent.Invited, (invitation) => {
      // 1.0.6: an invitation is a group's when it names a group or two or more invitees.
      const isFromGroup =
        invitation.isFromGroup ||
        invitation.groupID !== undefined ||
        invitation.userIDList.length >= 2;
      this.#isInviter = false;
      this.#invitedBy = invitation.sponsor;
      this.#callType = invitation.callType;
      this.#isGroupCall = isFromGroup;
      if (isFromGroup) {
        this.#inviteeList = [...invitation.userIDList];
        this.#groupID = invitation.groupID;
      }
      emit(TRTCCallingEvent.INVITED, {
        sponsor: invitation.sponsor,
        userIDList: invitation.userIDList,
        isFromGroup,
        ...(invitation.groupID !== undefined ? { groupID: invitation.groupID } : {}),
        inviteData: {
          version: INVITE_DATA_VERSION,
          callType: invitation.callType,
          callEnd: 0,
          roomID: invitation.roomID,
        },
        inviteID: invitation.inviteID,
      });
    });
    engine.on(EngineEvent.Rejected, ({ userID }) => emit(TRTCCallingEvent.REJECT, { userID }));
    engine.on(EngineEvent.LineBusy, ({ userID, sponsor }) =>
      emit(TRTCCallingEvent.LINE_BUSY, { sponsor, userID }),
    );
    engine.on(EngineEvent.NoResponse, ({ callID, userID, userIDList, sponsor }) => {
      emit(TRTCCallingEvent.NO_RESP, { sponsor, userID, userIDList });
      // Only a one-to-one call is over here; a group call's end comes from the server.
      if (engine.state === CallState.Idle) endUnanswered(callID, sponsor);
    });
    engine.on(EngineEvent.InviteCancelled, ({ inviteID, sponsor, reason }) =>
      emit(TRTCCallingEvent.CALLING_CANCEL, { inviteID, sponsor, userID: sponsor, reason }),
    );
    engine.on(EngineEvent.InviteTimedOut, ({ inviteID, callID, sponsor }) => {
      emit(TRTCCallingEvent.CALLING_TIMEOUT, { inviteID, sponsor, userIDList: [self()] });
      endUnanswered(callID, sponsor);
    });
    engine.on(EngineEvent.UserEnter, ({ userID, audio, video }) => {
      // The inviter learns an invitee accepted (1.0.6: onUserAccept, before the user enters).
      if (this.#awaiting.delete(userID)) emit(TRTCCallingEvent.USER_ACCEPT, { userID });
      emit(TRTCCallingEvent.USER_ENTER, { userID });
      this.#remote.set(userID, { audio, video });
      emit(TRTCCallingEvent.USER_AUDIO_AVAILABLE, { userID, isAudioAvailable: audio });
      emit(TRTCCallingEvent.USER_VIDEO_AVAILABLE, { userID, isVideoAvailable: video });
    });
    engine.on(EngineEvent.RemoteMediaState, ({ userID, audio, video }) => {
      const known = this.#remote.get(userID);
      if (!known) return;
      this.#remote.set(userID, { audio, video });
      if (known.audio !== audio) {
        emit(TRTCCallingEvent.USER_AUDIO_AVAILABLE, { userID, isAudioAvailable: audio });
      }
      if (known.video !== video) {
        emit(TRTCCallingEvent.USER_VIDEO_AVAILABLE, { userID, isVideoAvailable: video });
      }
    });
    engine.on(EngineEvent.UserLeave, ({ userID }) => {
      this.#remote.delete(userID);
      this.#lastLeft = userID;
      this.#meter?.setTrack(userID, null);
      this.#views?.removeUser(userID);
      emit(TRTCCallingEvent.USER_LEAVE, { userID });
    });
    // 1.0.6 names who ended the call: the local user on our hang-up, the peer on theirs.
    engine.on(EngineEvent.CallEnded, ({ callID, roomID, reason, userID }) => {
      const by = userID ?? this.#lastLeft;
      emit(TRTCCallingEvent.CALL_END, {
        callID,
        roomID,
        reason,
        ...(by !== undefined ? { userID: by } : {}),
        callEnd: takeDuration(),
      });
    });
    engine.on(EngineEvent.Kicked, ({ reason }) => emit(TRTCCallingEvent.KICKED_OUT, { reason }));
    engine.on(EngineEvent.InviteeListUpdate, ({ userIDList }) =>
      emit(TRTCCallingEvent.GROUP_CALL_INVITEE_LIST_UPDATE, { userIDList }),
    );
    engine.on(EngineEvent.CallTypeChanged, ({ userID, callType }) => {
      this.#callType = callType;
      emit(TRTCCallingEvent.CALL_TYPE_CHANGED, { userID, callType });
    });
    engine.on(EngineEvent.NetworkQuality, ({ local, remote }) =>
      emit(TRTCCallingEvent.NETWORK_QUALITY, {
        localQuality: { userID: self(), quality: local },
        remoteQuality: remote,
      }),
    );
    engine.on(EngineEvent.Error, (error) => this.#report(error));
    engine.on(EngineEvent.RemoteTrack, (userID, track, receiver) => {
      if (track.kind === 'audio') this.#meter?.setTrack(userID, track, receiver);
      this.#views?.addRemoteTrack(userID, track);
    });
    engine.on(EngineEvent.LocalTrack, (kind, track) => {
      if (kind === 'video') this.#views?.setLocalTrack(track);
    });
  }
}

/** Where the blur model and wasm are: `assetsUrl`, else the server's /sdk/blur/ (with a '/'). */
function blurAssetBase(assetsUrl: string | undefined, server: string | undefined): string {
  const { href: page, origin } = (globalThis as { location?: Location }).location ?? {};
  try {
    if (assetsUrl) return new URL(assetsUrl.replace(/\/*$/, '/'), page).toString();
    const base = new URL(server ?? String(origin), page);
    return new URL(base.pathname.replace(/\/+$/, '') + BLUR_ASSET_PATH, base.origin).toString();
  } catch {
    throw CallError.invalidArgument(assetsUrl ? 'assetsUrl' : 'server', 'an http(s) URL');
  }
}

/** `ws(s)://host[/base]/ws` for the server's http(s) URL (default: the page's origin). */
function signalUrl(server: string | undefined): string {
  const base = server ?? (globalThis as { location?: Location }).location?.origin;
  let url: URL;
  try {
    url = new URL(String(base));
  } catch {
    throw CallError.invalidArgument('server', "the Ringline server's http(s) URL");
  }
  const scheme = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' }[url.protocol];
  if (!scheme) throw CallError.invalidArgument('server', 'an http(s) URL');
  url.protocol = scheme;
  url.pathname = url.pathname.replace(/\/+$/, '') + SIGNAL_PATH;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** SDKAppID as a number: a positive 32-bit integer, or its decimal string (apps read it from env). */
function toSdkAppID(value: unknown): number {
  const id = typeof value === 'string' && /^\d{1,10}$/.test(value.trim()) ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > 0xffffffff) {
    throw CallError.invalidArgument('SDKAppID', 'a positive integer (or its decimal string)');
  }
  return id;
}

function toIcePolicy(value: unknown): IceTransportPolicy | undefined {
  if (value === undefined || value === 'all' || value === 'relay') return value;
  throw CallError.invalidArgument('iceTransportPolicy', "'all' or 'relay'");
}

function toPreconnect(value: unknown): boolean | 'auto' | undefined {
  if (value === undefined || value === true || value === false || value === 'auto') return value;
  throw CallError.invalidArgument('preconnect', "true, false or 'auto'");
}

function checkUserID(userID: unknown): asserts userID is string {
  if (typeof userID !== 'string' || !userIdPattern.test(userID)) {
    throw CallError.invalidUserID(userID);
  }
}

function checkUserIDList(list: unknown): string[] {
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_INVITEES) {
    throw CallError.invalidArgument('userIDList', `an array of 1 to ${MAX_INVITEES} user IDs`);
  }
  for (const userID of list) checkUserID(userID);
  return [...new Set(list as string[])];
}

function checkGroupID(groupID: unknown, required: boolean): string | undefined {
  if (groupID === undefined && !required) return undefined;
  // An empty string is what apps pass for "no group" (trtc-calling-js treats it so).
  if (groupID === '' && !required) return undefined;
  if (typeof groupID !== 'string' || !groupID || groupID.length > 64) {
    throw CallError.invalidArgument('groupID', 'a group ID of 1 to 64 characters');
  }
  return groupID;
}

function checkTimeout(timeout: unknown): void {
  if (
    timeout !== undefined &&
    (!Number.isInteger(timeout) ||
      (timeout as number) < 0 ||
      (timeout as number) > MAX_INVITE_TIMEOUT_S)
  ) {
    throw CallError.invalidArgument('timeout', `whole seconds from 0 to ${MAX_INVITE_TIMEOUT_S}`);
  }
}

function checkCallType(type: unknown): CallType {
  if (type !== CallType.AUDIO && type !== CallType.VIDEO) {
    throw CallError.invalidArgument('type', '1 (audio) or 2 (video)');
  }
  return type;
}

function checkDomID(domID: unknown): string {
  if (typeof domID !== 'string' || !domID) {
    throw CallError.invalidArgument('videoViewDomID', 'the id of an element in the page');
  }
  return domID;
}

// Only the fields the protocol knows go to the server, which rejects any other.
function pushInfo(info: unknown): OfflinePushInfo | undefined {
  if (!info || typeof info !== 'object') return undefined;
  const source = info as Record<string, unknown>;
  const picked: OfflinePushInfo = {};
  for (const key of ['title', 'description', 'androidOPPOChannelID', 'extension'] as const) {
    const value = source[key];
    if (typeof value === 'string') picked[key] = value;
  }
  return Object.keys(picked).length ? picked : undefined;
}
