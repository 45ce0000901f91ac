import {
  BLUR_ASSET_PATH,
  CallEndReason,
  CallType,
  MAX_INVITEES,
  MAX_INVITE_TIMEOUT_S,
  SIGNAL_PATH,
  USER_ID_PATTERN,
  type OfflinePushInfo,
} from '@ringline/protocol';
import { CallEngine } from './engine/CallEngine.js';
import { CallState } from './engine/CallState.js';
import { EngineEvent } from './engine/EngineEvent.js';
import { CallError } from './errors.js';
import { TypedEmitter } from './events/Emitter.js';
import { TRTCCallingEvent, type TRTCCallingCallbacks } from './events/TRTCCallingEvent.js';
import { BackgroundBlur } from './media/blur/BackgroundBlur.js';
import { createBrowserBackend } from './media/browserBackend.js';
import type { DeviceInfo } from './media/LocalMedia.js';
import type { MediaBackend } from './media/MediaBackend.js';
import { NetworkQuality } from './media/networkQuality.js';
import { isVideoQuality, type VideoQuality } from './media/videoQuality.js';
import type { SignalClientOptions, WebSocketConstructor } from './signal/SignalClient.js';
import { createLogger, type Logger, type LogLevel } from './util/logger.js';
import { MediaViews } from './view/MediaViews.js';

/** Options of `new TRTCCalling(options)`. */
export interface TRTCCallingOptions {
  /** The SDKAppID the Ringline server serves. */
  SDKAppID: number;
  /** The Ringline server's http(s) URL; default: the page's origin. */
  server?: string;
  /** Accepted for compatibility with trtc-calling-js, and ignored. */
  tim?: unknown;
  /** Ringline extension: how much the SDK logs to the console (default `warn`). */
  logLevel?: LogLevel;
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
}

/** `1`: audio call, `2`: video call. */
export type TRTCCallType = 1 | 2;

/** `inviteData.version` of INVITED, the value trtc-calling-js 1.x sends. */
const INVITE_DATA_VERSION = 4;

const userIdPattern = new RegExp(USER_ID_PATTERN);

/**
 * Ringline's drop-in replacement for trtc-calling-js: the same API, events, payloads and error codes,
 * over a Ringline server (`server`) instead of Tencent's TRTC + IM.
 */
export default class TRTCCalling {
  /** The event names, as in trtc-calling-js. */
  static readonly EVENT = TRTCCallingEvent;
  /** Call types, as in trtc-calling-js. */
  static readonly CALL_TYPE = Object.freeze({ AUDIO_CALL: 1, VIDEO_CALL: 2 } as const);
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

  constructor(options: TRTCCallingOptions, deps: TRTCCallingDeps = {}) {
    const log = deps.logger ?? createLogger(options?.logLevel ?? 'warn');
    this.#log = log;
    const sdkAppID = options?.SDKAppID;
    if (!Number.isInteger(sdkAppID) || sdkAppID < 1 || sdkAppID > 0xffffffff) {
      throw CallError.invalidArgument('SDKAppID', 'a positive integer');
    }
    this.#sdkAppID = sdkAppID;
    this.#server = options.server;
    const media = deps.media ?? createBrowserBackend();
    this.#events = new TypedEmitter<TRTCCallingCallbacks>((error, event) =>
      log.error(`the app's ${event} listener threw`, error),
    );
    this.#engine = new CallEngine({
      sdkAppID,
      signalUrl: signalUrl(options.server),
      media,
      logger: log,
      WebSocket: deps.WebSocket,
      requestTimeoutMs: deps.requestTimeoutMs,
      reconnect: deps.reconnect,
      networkQualityIntervalMs: deps.networkQualityIntervalMs,
    });
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

  /** Subscribes `callback` (called with `this` = `context`) to `eventName`. */
  on<K extends TRTCCallingEvent>(
    eventName: K | `${K}`,
    callback: TRTCCallingCallbacks[K],
    context?: unknown,
  ): void {
    if (typeof callback !== 'function') {
      throw CallError.invalidArgument('callback', `a function for ${String(eventName)}`);
    }
    this.#events.on(eventName as K, callback, context);
  }

  /** Unsubscribes the (callback, context) pair from `eventName`. */
  off<K extends TRTCCallingEvent>(
    eventName: K | `${K}`,
    callback?: TRTCCallingCallbacks[K],
    context?: unknown,
  ): void {
    this.#events.off(eventName as K, callback, context);
  }

  /** Logs in to the Ringline server; SDK_READY follows. */
  login(params: { userID: string; userSig: string }): Promise<void> {
    return this.#run(async () => {
      const { userID, userSig } = params ?? ({} as { userID?: unknown; userSig?: unknown });
      checkUserID(userID);
      if (typeof userSig !== 'string' || !userSig) {
        throw CallError.invalidArgument('userSig', 'a non-empty string');
      }
      await this.#engine.login({ sdkAppID: this.#sdkAppID, userID, userSig });
    });
  }

  /** Logs out; a call in progress is ended first. */
  logout(): Promise<void> {
    return this.#run(() => this.#engine.logout());
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
  }): Promise<void> {
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
  }): Promise<void> {
    return this.#run(async () => {
      const { userIDList, type, groupID, timeout, offlinePushInfo } =
        params ?? ({} as Record<string, never>);
      const invitees = checkUserIDList(userIDList);
      const callType = checkCallType(type);
      checkTimeout(timeout);
      await this.#engine.groupCall({
        userIDList: invitees,
        callType,
        groupID: checkGroupID(groupID, false),
        timeout,
        offlinePushInfo: pushInfo(offlinePushInfo),
      });
    });
  }

  /**
   * Ringline/TUICallKit extension: invites more users into the call in progress. A one-to-one
   * call that gains a third person becomes a group call, without anyone redialling.
   */
  inviteUser(params: { userIDList: string[] }): Promise<void> {
    return this.#run(async () => {
      await this.#engine.inviteUser(checkUserIDList(params?.userIDList));
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
    });
  }

  /** Accepts the ringing invitation (pre-1.0: `{inviteID, roomID, callType}`). */
  accept(params?: { inviteID?: string; roomID?: number; callType?: TRTCCallType }): Promise<void> {
    return this.#run(() => this.#engine.accept(params?.inviteID));
  }

  /** Rejects the ringing invitation (pre-1.0: `{inviteID, isBusy, callType}`). */
  reject(params?: { inviteID?: string; isBusy?: boolean; callType?: TRTCCallType }): Promise<void> {
    return this.#run(() =>
      this.#engine.reject({ inviteID: params?.inviteID, busy: params?.isBusy === true }),
    );
  }

  /** Cancels the call when dialing, rejects when invited, leaves when in a call. */
  hangup(): Promise<void> {
    return this.#run(() => this.#engine.hangup());
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
    });
  }

  /** Switches the call (1:1 or group) from video to audio; everyone follows. Fails with 60001. */
  switchToAudioCall(): Promise<void> {
    return this.#run(() => this.#engine.switchCallType(CallType.AUDIO));
  }

  /** Switches the call (1:1 or group) from audio to video; everyone follows. Fails with 60002. */
  switchToVideoCall(): Promise<void> {
    return this.#run(() => this.#engine.switchCallType(CallType.VIDEO));
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
      if (next === CallState.Connected) this.#connectedAt = Date.now();
      if (next === CallState.Dialing || next === CallState.BeInvited) this.#connectedAt = undefined;
      if (next !== CallState.Idle) return;
      this.#remote.clear();
      this.#views?.clear();
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
    engine.on(EngineEvent.Invited, (invitation) =>
      emit(TRTCCallingEvent.INVITED, {
        sponsor: invitation.sponsor,
        userIDList: invitation.userIDList,
        isFromGroup: invitation.isFromGroup,
        ...(invitation.groupID !== undefined ? { groupID: invitation.groupID } : {}),
        inviteData: {
          version: INVITE_DATA_VERSION,
          callType: invitation.callType,
          roomID: invitation.roomID,
        },
        inviteID: invitation.inviteID,
      }),
    );
    engine.on(EngineEvent.Rejected, ({ userID }) => emit(TRTCCallingEvent.REJECT, { userID }));
    engine.on(EngineEvent.LineBusy, ({ userID, sponsor }) =>
      emit(TRTCCallingEvent.LINE_BUSY, { sponsor, userID }),
    );
    engine.on(EngineEvent.NoResponse, ({ callID, userID, userIDList, sponsor }) => {
      emit(TRTCCallingEvent.NO_RESP, { sponsor, userID, userIDList });
      // Only a one-to-one call is over here; a group call's end comes from the server.
      if (engine.state === CallState.Idle) endUnanswered(callID, sponsor);
    });
    engine.on(EngineEvent.InviteCancelled, ({ inviteID, sponsor }) =>
      emit(TRTCCallingEvent.CALLING_CANCEL, { inviteID, sponsor, userID: sponsor }),
    );
    engine.on(EngineEvent.InviteTimedOut, ({ inviteID, callID, sponsor }) => {
      emit(TRTCCallingEvent.CALLING_TIMEOUT, { inviteID, sponsor, userIDList: [self()] });
      endUnanswered(callID, sponsor);
    });
    engine.on(EngineEvent.UserEnter, ({ userID, audio, video }) => {
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
      this.#views?.removeUser(userID);
      emit(TRTCCallingEvent.USER_LEAVE, { userID });
    });
    engine.on(EngineEvent.CallEnded, ({ callID, roomID, reason, userID }) =>
      emit(TRTCCallingEvent.CALL_END, {
        callID,
        roomID,
        reason,
        ...(userID !== undefined ? { userID } : {}),
        callEnd: takeDuration(),
      }),
    );
    engine.on(EngineEvent.Kicked, ({ reason }) => emit(TRTCCallingEvent.KICKED_OUT, { reason }));
    engine.on(EngineEvent.InviteeListUpdate, ({ userIDList }) =>
      emit(TRTCCallingEvent.GROUP_CALL_INVITEE_LIST_UPDATE, { userIDList }),
    );
    engine.on(EngineEvent.CallTypeChanged, ({ userID, callType }) =>
      emit(TRTCCallingEvent.CALL_TYPE_CHANGED, { userID, callType }),
    );
    engine.on(EngineEvent.NetworkQuality, ({ local, remote }) =>
      emit(TRTCCallingEvent.NETWORK_QUALITY, {
        localQuality: { userID: self(), quality: local },
        remoteQuality: remote,
      }),
    );
    engine.on(EngineEvent.Error, (error) => this.#report(error));
    engine.on(EngineEvent.RemoteTrack, (userID, track) =>
      this.#views?.addRemoteTrack(userID, track),
    );
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
