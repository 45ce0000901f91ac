import TRTCCalling, { type TRTCCallingOptions } from '@ringline/calling';
import { ServerErrorCode, USER_ID_PATTERN } from '@ringline/protocol';
import { createEngine, type CallEngineInstance } from './engine.js';
import { CallKitError } from './errors.js';
import { SCRIPT_ORIGIN } from './scriptOrigin.js';
import { CallKitStore } from './CallKitStore.js';
import { idleState, participant } from './initialState.js';
import {
  MAX_RECENT_CALLS,
  RECENT_PAGE,
  callBackOf,
  emptyRecents,
  mergeRecents,
  toRecentCall,
} from './recents.js';
import { Ringtone } from './Ringtone.js';
import { SpeakingMeter } from './SpeakingMeter.js';
import {
  AudioPlayBackDevice,
  CallMediaType,
  CallRole,
  LOG_LEVEL,
  type VideoDisplayMode,
  type VideoResolution,
  CallStatus,
  FeatureButton,
  STATUS,
  type CallKitState,
  type Language,
  type Participant,
  type Status,
  type Toast,
} from './types.js';

const EVENT = TRTCCalling.EVENT;

/** The callbacks a TUICallKit component takes as properties. */
export interface CallKitCallbacks {
  /** Before a call starts (caller and callee), with the media type; with `error` when it failed to. */
  beforeCalling?: (type: CallMediaType, error?: unknown) => void;
  /** After a call ended (back to idle). */
  afterCalling?: () => void;
  /** The kit was minimized (`true`) or restored (`false`). */
  onMinimized?: (oldStatus: boolean, newStatus: boolean) => void;
  /** The same user logged in elsewhere (with the SDK's event): the call ends, the kit logs out. */
  kickedOut?: (event?: unknown) => void;
  /** Exactly once per change of `STATUS`. */
  statusChanged?: (event: { oldStatus: Status; newStatus: Status }) => void;
}

/** The component's properties that are options rather than callbacks. */
export interface CallKitComponentOptions {
  allowedMinimized?: boolean;
  allowedFullScreen?: boolean;
  videoDisplayMode?: 'contain' | 'cover' | 'fill';
  videoResolution?: '480p' | '720p' | '1080p';
}

/** Where the component renders videos; `null` when an element goes away. */
export interface ViewAttacher {
  local(el: HTMLElement | null): void;
  remote(userID: string, el: HTMLElement | null): void;
}

/** What the kit logs through; the console's methods by default. */
export interface CallKitLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/**
 * Seams for embedding and tests: how the kit makes its TRTCCalling (tests give it a media backend
 * and a WebSocket for Node), and where it logs.
 */
export interface CallKitServerDeps {
  createCalling?: (options: TRTCCallingOptions) => TRTCCalling;
  logger?: CallKitLogger;
  /** Stands for the loading script's origin (tests); default: read from the page. */
  scriptOrigin?: string;
}

/** `init`'s parameters: TUICallKit's, plus Ringline's `server`. */
export type InitParams = {
  userID: string;
  userSig: string;
  /** The Ringline server's http(s) URL. */
  server?: string;
  /** Accepted for compatibility; Ringline has no Tencent IM instance. */
  tim?: unknown;
  /** Ringline: connect one-to-one calls while they ring (TRTCCalling's `preconnect`). */
  preconnect?: boolean | 'auto';
  isFromChat?: boolean;
  component?: number;
} & ({ SDKAppID: number | string } | { sdkAppID: number | string });

/** TUICallKit 4.x `calls`. */
export interface CallsParams {
  userIDList: string[];
  type: CallMediaType;
  chatGroupID?: string;
  roomID?: number;
  strRoomID?: string;
  userData?: string;
  timeout?: number;
  offlinePushInfo?: Record<string, string>;
}

/** TUICallKit 4.x `join`: Ringline joins by group. */
export interface JoinParams {
  groupID?: string;
  chatGroupID?: string;
  type?: CallMediaType;
  /** TUICallEngine's call id: not supported (50100). */
  callId?: string;
}

/** TUICallEngine's device type names → the SDK's. */
const DEVICE_KINDS: Record<string, 'video' | 'audio' | undefined> = {
  camera: 'video',
  video: 'video',
  microphone: 'audio',
  microphones: 'audio',
  audio: 'audio',
};

/** Which statuses may follow each status; anything else is a bug and is refused. */
const ALLOWED: Record<Status, readonly Status[]> = {
  [STATUS.IDLE]: [
    STATUS.BE_INVITED,
    STATUS.DIALING_C2C,
    STATUS.DIALING_GROUP,
    STATUS.CALLING_GROUP_AUDIO,
    STATUS.CALLING_GROUP_VIDEO,
  ],
  [STATUS.BE_INVITED]: [
    STATUS.IDLE,
    STATUS.CALLING_C2C_AUDIO,
    STATUS.CALLING_C2C_VIDEO,
    STATUS.CALLING_GROUP_AUDIO,
    STATUS.CALLING_GROUP_VIDEO,
  ],
  // A one-to-one call that got a third invitee while ringing connects as a group call.
  [STATUS.DIALING_C2C]: [
    STATUS.IDLE,
    STATUS.CALLING_C2C_AUDIO,
    STATUS.CALLING_C2C_VIDEO,
    STATUS.CALLING_GROUP_AUDIO,
    STATUS.CALLING_GROUP_VIDEO,
  ],
  [STATUS.DIALING_GROUP]: [STATUS.IDLE, STATUS.CALLING_GROUP_AUDIO, STATUS.CALLING_GROUP_VIDEO],
  [STATUS.CALLING_C2C_AUDIO]: [
    STATUS.IDLE,
    STATUS.CALLING_C2C_VIDEO,
    STATUS.CALLING_GROUP_AUDIO,
    STATUS.CALLING_GROUP_VIDEO,
  ],
  [STATUS.CALLING_C2C_VIDEO]: [
    STATUS.IDLE,
    STATUS.CALLING_C2C_AUDIO,
    STATUS.CALLING_GROUP_AUDIO,
    STATUS.CALLING_GROUP_VIDEO,
  ],
  [STATUS.CALLING_GROUP_AUDIO]: [STATUS.IDLE, STATUS.CALLING_GROUP_VIDEO],
  [STATUS.CALLING_GROUP_VIDEO]: [STATUS.IDLE, STATUS.CALLING_GROUP_AUDIO],
};

const LANGUAGES: readonly Language[] = ['en', 'zh-cn', 'ja_JP'];
const RESOLUTIONS = ['480p', '720p', '1080p'] as const;
const DISPLAY_MODES = ['contain', 'cover', 'fill'] as const;
/** How long a toast stays unless the view dismisses it earlier. */
const TOAST_MS = 4000;
const userIdPattern = new RegExp(USER_ID_PATTERN);

let nextViewID = 1;

/**
 * The kit's brain, `TUICallKitServer`: owns one TRTCCalling, turns its events into `CallKitState`
 * (in `store`), runs the TUICallKit API and the component's actions, and calls the component's
 * callbacks. No rendering here except handing video elements to the SDK.
 */
export class CallKitServer {
  readonly store: CallKitStore;
  readonly #deps: CallKitServerDeps;
  readonly #log: CallKitLogger;
  readonly #ringtone = new Ringtone();
  readonly #meter = new SpeakingMeter();
  #calling: TRTCCalling | undefined;
  #unwire: (() => void) | undefined;
  #callbacks: CallKitCallbacks = {};
  // Operations run one at a time, so a click during an accept cannot interleave with it.
  #queue: Promise<unknown> = Promise.resolve();
  #nextToast = 1;
  readonly #toastTimers = new Map<number, ReturnType<typeof setTimeout>>();
  #localEl: HTMLElement | null = null;
  readonly #remoteEls = new Map<string, HTMLElement>();
  #cameraIndex = 0;
  #logLevel: LOG_LEVEL | undefined;
  /** This user is hanging up or rejecting: the SDK's end events meanwhile are this user's doing. */
  #endingLocally = false;
  #engine: CallEngineInstance | undefined;
  // Background blur, as TUICallKit keeps it: the button offered, and blur on.
  #virtualBackground = false;
  #blurOn = false;
  // The recent-calls list: shown somewhere (refresh after each call), and its newest load.
  #recentsWanted = false;
  #recentsSeq = 0;

  constructor(deps: CallKitServerDeps = {}) {
    this.#deps = deps;
    this.#log = deps.logger ?? console;
    this.store = new CallKitStore(idleState(), (error) =>
      this.#log.error('[callkit] a state listener threw', error),
    );
  }

  /** The current state snapshot (same as `store.state`). */
  get state(): CallKitState {
    return this.store.state;
  }

  // ---- TUICallKitServer API -------------------------------------------------------------------

  /**
   * Logs in. `SDKAppID` may also be spelled `sdkAppID` (TUICallKit's d.ts allows both) and be a
   * numeric string. `server`: the Ringline server's URL; default the origin of the script tag the
   * kit was loaded from, else the page's origin.
   */
  init(params: InitParams): Promise<void> {
    return this.#serial(async () => {
      const { userID, userSig, server, preconnect } = params ?? ({} as Record<string, never>);
      checkString('userID', userID);
      checkString('userSig', userSig);
      const SDKAppID = sdkAppIDOf(params);
      await this.#teardown();
      const origin = server ?? this.#deps.scriptOrigin ?? SCRIPT_ORIGIN;
      const options: TRTCCallingOptions = {
        SDKAppID,
        ...(origin ? { server: origin } : {}),
        ...(preconnect !== undefined ? { preconnect } : {}),
      };
      const calling = this.#deps.createCalling
        ? this.#deps.createCalling(options)
        : new TRTCCalling(options);
      this.#calling = calling;
      this.#unwire = this.#wire(calling);
      this.#applyLogLevel();
      this.store.update((s) => ({ self: { ...s.self, userID } }));
      try {
        await calling.login({ userID, userSig });
      } catch (error) {
        await this.#teardown();
        throw error;
      }
    });
  }

  /** Calls one user (type 1: audio, 2: video). */
  call(params: {
    userID: string;
    type: CallMediaType;
    timeout?: number;
    userData?: string;
    offlinePushInfo?: Record<string, string>;
  }): Promise<void> {
    return this.#serial(async () => {
      const calling = this.#requireIdle('call');
      const { userID, type, timeout, offlinePushInfo } = params ?? ({} as Record<string, never>);
      const mediaType = this.#checkArguments(type, () => this.#checkInvitees([userID]));
      await this.#startCalling(
        mediaType,
        STATUS.DIALING_C2C,
        {
          role: CallRole.CALLER,
          isGroup: false,
          peerUserID: userID,
          remotes: [participant(userID, { ringing: true, video: false })],
        },
        () =>
          calling.call({
            userID,
            type: mediaType,
            ...(timeout !== undefined ? { timeout } : {}),
            ...(offlinePushInfo ? { offlinePushInfo } : {}),
          }),
      );
    });
  }

  /** Calls several users at once, optionally through a group. */
  groupCall(params: {
    userIDList: string[];
    type: CallMediaType;
    groupID?: string;
    timeout?: number;
    userData?: string;
    offlinePushInfo?: Record<string, string>;
  }): Promise<void> {
    return this.#serial(async () => {
      const calling = this.#requireIdle('groupCall');
      const { userIDList, type, groupID, timeout, offlinePushInfo } =
        params ?? ({} as Record<string, never>);
      const mediaType = this.#checkArguments(type, () => {
        if (!Array.isArray(userIDList) || userIDList.length === 0) {
          throw CallKitError.invalidArgument('userIDList', 'a non-empty array of user IDs');
        }
        this.#checkInvitees(userIDList);
      });
      const invitees = [...new Set(userIDList)];
      await this.#startCalling(
        mediaType,
        STATUS.DIALING_GROUP,
        {
          role: CallRole.CALLER,
          isGroup: true,
          remotes: invitees.map((id) => participant(id, { ringing: true })),
        },
        () =>
          calling.groupCall({
            userIDList: invitees,
            type: mediaType,
            ...(groupID ? { groupID } : {}),
            ...(timeout !== undefined ? { timeout } : {}),
            ...(offlinePushInfo ? { offlinePushInfo } : {}),
          }),
      );
    });
  }

  /** Invites more users into the call in progress; a 1:1 call becomes a group call. */
  inviteUser(params: { userIDList: string[] }): Promise<void> {
    return this.#serial(async () => {
      const calling = this.#require('inviteUser');
      const list = params?.userIDList;
      if (!Array.isArray(list) || list.length === 0) {
        throw CallKitError.invalidArgument('userIDList', 'a non-empty array of user IDs');
      }
      if (this.state.status === STATUS.IDLE || this.state.status === STATUS.BE_INVITED) {
        throw new CallKitError(ServerErrorCode.INVALID_CALL_STATE, 'inviteUser needs a call');
      }
      await calling.inviteUser({ userIDList: list });
      const known = new Set(this.state.remotes.map((p) => p.userID));
      this.store.update((s) => ({
        isGroup: true,
        remotes: [
          ...s.remotes,
          ...list.filter((id) => !known.has(id)).map((id) => participant(id, { ringing: true })),
        ],
      }));
      if (this.state.callStatus === CallStatus.CONNECTED) {
        this.#setStatus(callingStatus(true, this.state.mediaType));
      }
    });
  }

  /** Joins the ongoing call of a group without an invitation. */
  joinInGroupCall(params: { type: CallMediaType; groupID: string }): Promise<void> {
    return this.#serial(async () => {
      const calling = this.#requireIdle('joinInGroupCall');
      const groupID = params?.groupID;
      const mediaType = this.#checkArguments(params?.type, () => checkString('groupID', groupID));
      this.#safe('beforeCalling', () => this.#callbacks.beforeCalling?.(mediaType));
      try {
        await this.#prepareMedia(calling);
        await calling.joinInGroupCall({ type: mediaType, groupID });
      } catch (error) {
        this.#safe('beforeCalling', () => this.#callbacks.beforeCalling?.(mediaType, error));
        throw error;
      }
      this.store.update({ role: CallRole.CALLEE, isGroup: true, mediaType });
      // Straight from idle into the call (#connected leaves an idle kit alone).
      this.#setStatus(callingStatus(true, mediaType));
      this.#connected();
      await this.#applyCameraDefault(calling);
    });
  }

  setLanguage(language: Language): void {
    if (!LANGUAGES.includes(language)) {
      throw CallKitError.invalidArgument('language', "'en', 'zh-cn' or 'ja_JP'");
    }
    this.store.update({ language });
  }

  enableFloatWindow(enable: boolean): void {
    this.#setOption('floatWindow', checkBool('enable', enable));
  }

  setSelfInfo(params: { nickName?: string; avatar?: string }): Promise<void> {
    const { nickName, avatar } = params ?? {};
    this.store.update((s) => ({
      self: {
        ...s.self,
        ...(typeof nickName === 'string' ? { nickName } : {}),
        ...(typeof avatar === 'string' ? { avatar } : {}),
      },
    }));
    return Promise.resolve();
  }

  /** The ringtone URL; none: the kit's generated ring. */
  setCallingBell(url?: string): Promise<void> {
    if (url !== undefined && typeof url !== 'string') {
      throw CallKitError.invalidArgument('url', 'a URL string');
    }
    this.store.update((s) => {
      const options = { ...s.options };
      if (url) options.callingBell = url;
      else delete options.callingBell;
      return { options };
    });
    return Promise.resolve();
  }

  enableMuteMode(enable: boolean): Promise<void> {
    this.#setOption('muteMode', checkBool('enable', enable));
    this.#syncRingtone();
    return Promise.resolve();
  }

  /**
   * TUICallKit: offers the background-blur button (Tencent's kit only shows its button; blur itself
   * is `setBlurBackground`). Ringline's UI has no such button yet; the flag is kept for it.
   */
  enableVirtualBackground(enable: boolean): Promise<void> {
    this.#virtualBackground = checkBool('enable', enable);
    return Promise.resolve();
  }

  /** Whether `enableVirtualBackground(true)` was called, and whether blur is on. */
  get virtualBackground(): { offered: boolean; blurred: boolean } {
    return { offered: this.#virtualBackground, blurred: this.#blurOn };
  }

  /**
   * TUICallKit: blurs the background of the video peers receive (true) or stops (false), at once
   * and for later calls. Like Tencent's, a failure is logged, not thrown (its buttons await this).
   */
  setBlurBackground(enable: boolean): Promise<void> {
    return this.#serial(async () => {
      try {
        await this.#require('setBlurBackground').setBackgroundBlur(checkBool('enable', enable));
        this.#blurOn = enable;
      } catch (error) {
        this.#log.error('[callkit] setBlurBackground failed', error);
      }
    });
  }

  hideFeatureButton(button: FeatureButton): void {
    if (!Object.values(FeatureButton).includes(button)) {
      throw CallKitError.invalidArgument('button', Object.values(FeatureButton).join(', '));
    }
    const hidden = this.state.options.hiddenButtons;
    if (!hidden.includes(button)) this.#setOption('hiddenButtons', [...hidden, button]);
  }

  setLocalViewBackgroundImage(url: string): void {
    this.#setOption('localBackground', checkString('url', url));
  }

  /** The background of `userID`'s tile when its camera is off ('*': everyone's). */
  setRemoteViewBackgroundImage(userID: string, url: string): void {
    checkString('userID', userID);
    checkString('url', url);
    this.#setOption('remoteBackgrounds', {
      ...this.state.options.remoteBackgrounds,
      [userID]: url,
    });
  }

  /** Which view is large in a 1:1 video call. */
  setLayoutMode(layout: 'local' | 'remote'): void {
    if (layout !== 'local' && layout !== 'remote') {
      throw CallKitError.invalidArgument('layout', "'local' or 'remote'");
    }
    this.store.update({ layout });
  }

  /** Whether the camera is on when a video call starts. */
  setCameraDefaultState(isOpen: boolean): void {
    this.#setOption('cameraDefaultOn', checkBool('isOpen', isOpen));
  }

  // ---- Ringline: recent calls ------------------------------------------------------------------

  /**
   * Ringline: loads the newest page of the user's calls and the unread missed-call count into
   * `state.recents` (the recent-calls panel renders it). From then on the list refreshes itself
   * whenever a call ends. Resolves once loaded; on failure `recents.error` holds the code and the
   * promise rejects with it.
   */
  refreshRecentCalls(): Promise<void> {
    this.#recentsWanted = true;
    return this.#loadRecents('refresh');
  }

  /** Ringline: appends the next page of calls to `state.recents` (nothing when none is left). */
  loadMoreRecentCalls(): Promise<void> {
    if (this.state.recents.next === undefined) return Promise.resolve();
    return this.#loadRecents('more');
  }

  /** Ringline: marks every missed call seen; `recents.unread` becomes what the server counts. */
  markMissedCallsSeen(): Promise<void> {
    return (async () => {
      const calling = this.#require('markMissedCallsSeen');
      const { unread } = await calling.markMissedCallsSeen();
      this.store.update((s) => ({
        recents: {
          ...s.recents,
          unread,
          calls: s.recents.calls.map((c) => (c.missed && !c.seen ? { ...c, seen: true } : c)),
        },
      }));
    })();
  }

  /**
   * Ringline: calls back the call `callID` of the recent-calls list: a call of the same media
   * type to the same user, or to the same group's other members.
   */
  callBack(callID: string): Promise<void> {
    const call = this.state.recents.calls.find((c) => c.callID === callID);
    if (!call) {
      return Promise.reject(CallKitError.invalidArgument('callID', 'a call of state.recents'));
    }
    const target = callBackOf(call);
    if (target.kind === 'c2c') return this.call({ userID: target.userID, type: target.type });
    return this.groupCall({
      userIDList: target.userIDList,
      type: target.type,
      ...(target.groupID !== undefined && { groupID: target.groupID }),
    });
  }

  /** One load of the list at a time; a newer refresh makes an older answer stale. */
  async #loadRecents(mode: 'refresh' | 'more'): Promise<void> {
    const calling = this.#require(
      mode === 'refresh' ? 'refreshRecentCalls' : 'loadMoreRecentCalls',
    );
    const seq = ++this.#recentsSeq;
    const self = this.state.self.userID;
    const cursor = mode === 'more' ? this.state.recents.next : undefined;
    this.store.update((s) => ({ recents: { ...s.recents, loading: true } }));
    try {
      const [page, missed] = await Promise.all([
        calling.getCallHistory({ limit: RECENT_PAGE, ...(cursor !== undefined && { cursor }) }),
        calling.getMissedCalls({ limit: 1 }),
      ]);
      if (seq !== this.#recentsSeq) return;
      const rows = page.calls.map((c) => toRecentCall(c, self));
      this.store.update((s) => {
        const calls = mode === 'more' ? mergeRecents(s.recents.calls, rows) : rows;
        const full = calls.length >= MAX_RECENT_CALLS;
        return {
          recents: {
            calls,
            unread: missed.unread,
            loading: false,
            ...(page.next !== undefined && !full && { next: page.next }),
          },
        };
      });
    } catch (error) {
      if (seq === this.#recentsSeq) {
        const code = codeOf(error) ?? ServerErrorCode.INTERNAL;
        this.store.update((s) => ({ recents: { ...s.recents, loading: false, error: code } }));
      }
      throw error;
    }
  }

  /** Ends any call, logs out and forgets the user; `init` starts over. */
  destroyed(): Promise<void> {
    return this.#serial(() => this.#teardown());
  }

  // ---- TUICallKit 3.x/4.x API beyond the component's -----------------------------------------

  /**
   * TUICallKit 4.x: calls one user or several. One user without `chatGroupID` is a 1:1 call;
   * otherwise a group call (through the group when `chatGroupID` is given), as TUICallKit decides.
   */
  calls(params: CallsParams): Promise<void> {
    const { userIDList, type, chatGroupID, timeout, userData, offlinePushInfo } =
      params ?? ({} as Record<string, never>);
    const extra = {
      ...(timeout !== undefined ? { timeout } : {}),
      ...(userData !== undefined ? { userData } : {}),
      ...(offlinePushInfo ? { offlinePushInfo } : {}),
    };
    if (Array.isArray(userIDList) && userIDList.length === 1 && !chatGroupID) {
      return this.call({ userID: userIDList[0]!, type: type as CallMediaType, ...extra });
    }
    return this.groupCall({
      userIDList,
      type: type as CallMediaType,
      ...(chatGroupID ? { groupID: chatGroupID } : {}),
      ...extra,
    });
  }

  /**
   * TUICallKit 4.x: joins a group's call in progress. Ringline joins by group
   * (`{groupID | chatGroupID, type}`); TUICallEngine's `{callId}` has no counterpart here and is
   * refused with 50100 (see docs/migration.md).
   */
  join(params: JoinParams): Promise<void> {
    const { groupID, chatGroupID, callId, type } = params ?? ({} as Record<string, never>);
    const group = groupID ?? chatGroupID;
    if (!group && callId !== undefined) {
      return Promise.reject(
        new CallKitError(
          ServerErrorCode.NOT_SUPPORTED,
          'join({callId}) is not supported: join a group call with {groupID, type}',
        ),
      );
    }
    // TUICallKit's join defaults to an audio call.
    return this.joinInGroupCall({
      groupID: group as string,
      type: (type ?? CallMediaType.AUDIO) as CallMediaType,
    });
  }

  /** TUICallKit's setCallback: sets the given callbacks, keeping the others. */
  setCallback(params: CallKitCallbacks): void {
    const next: CallKitCallbacks = {};
    for (const [name, fn] of Object.entries(params ?? {})) {
      if (typeof fn === 'function') (next as Record<string, unknown>)[name] = fn;
    }
    this.setCallbacks(next);
  }

  /** How much the kit and its SDK log: LOG_LEVEL 0 (all) … 4 (nothing). */
  setLogLevel(level: LOG_LEVEL): void {
    if (!Number.isInteger(level) || level < LOG_LEVEL.NORMAL || level > LOG_LEVEL.NONE) {
      throw CallKitError.invalidArgument('level', 'a LOG_LEVEL from 0 to 4');
    }
    this.#logLevel = level;
    this.#applyLogLevel();
  }

  /** The TUICallEngine look-alike apps call directly; null before `init`, as TUICallKit. */
  getTUICallEngineInstance(): CallEngineInstance | null {
    if (!this.#calling) return null;
    this.#engine ??= createEngine({
      calling: () => this.#calling,
      accept: () => this.accept(),
      reject: () => this.reject(),
      hangup: () => this.hangup(),
      calls: (p) => this.calls(p as CallsParams),
      join: (p) => this.join(p as JoinParams),
      inviteUser: (p) => this.inviteUser(p),
      openCamera: (id) => this.openCamera(id),
      closeCamera: () => this.closeCamera(),
      openMicrophone: () => this.openMicrophone(),
      closeMicrophone: () => this.closeMicrophone(),
      muteSpeaker: () => this.muteSpeaker(),
      unMuteSpeaker: () => this.unMuteSpeaker(),
      setSelfInfo: (p) => this.setSelfInfo(p),
      setVideoResolution: (r) => this.setVideoResolution(r),
      getDeviceList: (t) => this.getDeviceList(t),
      switchDevice: (p) => this.switchDevice(p),
      setLogLevel: (l) => this.setLogLevel(l as LOG_LEVEL),
      destroyed: () => this.destroyed(),
    });
    return this.#engine;
  }

  /**
   * Turns the camera on. `videoViewDomID` (TUICallKit passes its own view's id) is accepted and
   * unused: the kit's component shows the local video itself.
   */
  openCamera(_videoViewDomID?: string): Promise<void> {
    return this.#setCamera(true, 'openCamera');
  }

  closeCamera(): Promise<void> {
    return this.#setCamera(false, 'closeCamera');
  }

  openMicrophone(): Promise<void> {
    return this.#setMic(true, 'openMicrophone');
  }

  closeMicrophone(): Promise<void> {
    return this.#setMic(false, 'closeMicrophone');
  }

  /** Silences the other users' sound on this page until unMuteSpeaker or the end of the call. */
  muteSpeaker(): void {
    this.#setSpeaker(true);
  }

  unMuteSpeaker(): void {
    this.#setSpeaker(false);
  }

  /**
   * TUICallKit's 4.x switchCallMediaType: video → audio for everyone (audio → video is not
   * offered by TUICallKit and is a no-op here too). Only this side hears statusChanged.
   */
  switchCallMediaType(): Promise<void> {
    if (this.state.mediaType !== CallMediaType.VIDEO) {
      this.#log.warn('[callkit] switchCallMediaType: only video → audio is supported');
      return Promise.resolve();
    }
    return this.switchMediaType();
  }

  /** Puts `userID`'s video in the large view (the local user's or the peer's, in a 1:1 call). */
  switchScreen(userID: string): void {
    if (!userID) return; // as TUICallKit: nothing to switch to
    this.store.update({ layout: userID === this.state.self.userID ? 'local' : 'remote' });
  }

  /**
   * Earpiece or loudspeaker. A browser cannot pick the earpiece: the mode is checked and logged,
   * and sound stays on the page's output device (see docs/migration.md).
   */
  setSoundMode(type: AudioPlayBackDevice = AudioPlayBackDevice.SPEAKER): void {
    if (!Object.values(AudioPlayBackDevice).includes(type)) {
      throw CallKitError.invalidArgument('type', "'ear' or 'speaker'");
    }
    this.#log.info(`[callkit] setSoundMode(${type}): browsers play through the output device`);
  }

  /**
   * Uses another camera or microphone: `deviceType` 'camera'/'video' or 'microphone'/'audio'
   * (TUICallEngine's names), `deviceId` from getDeviceList.
   */
  switchDevice(params: { deviceType: string; deviceId: string }): Promise<void> {
    return this.#serial(async () => {
      const calling = this.#require('switchDevice');
      const { deviceType, deviceId } = params ?? ({} as Record<string, never>);
      const kind = DEVICE_KINDS[deviceType];
      if (!kind) {
        throw CallKitError.invalidArgument('deviceType', "'camera' or 'microphone'");
      }
      await calling.switchDevice({ deviceType: kind, deviceId });
    });
  }

  /** The machine's cameras ('camera'/'video') or microphones ('microphone'/'audio'). */
  getDeviceList(deviceType: string): Promise<{ deviceId: string; label: string }[]> {
    return this.#serial(async () => {
      const calling = this.#require('getDeviceList');
      const kind = DEVICE_KINDS[deviceType];
      if (!kind) throw CallKitError.invalidArgument('deviceType', "'camera' or 'microphone'");
      return kind === 'video' ? calling.getCameras() : calling.getMicrophones();
    });
  }

  /** Minimizes or restores the call window (onMinimized(old, new)). */
  toggleMinimize(): void {
    this.setMinimized(!this.state.minimized);
  }

  setVideoDisplayMode(displayMode: VideoDisplayMode): void {
    this.setComponentOptions({ videoDisplayMode: displayMode });
  }

  /** The camera profile, applied now when in a call and to every later call. */
  setVideoResolution(resolution: VideoResolution): Promise<void> {
    return this.#serial(async () => {
      this.setComponentOptions({ videoResolution: resolution });
      if (this.#calling && this.state.status !== STATUS.IDLE) {
        await this.#calling.setVideoQuality(resolution);
      }
    });
  }

  // ---- component-facing -----------------------------------------------------------------------

  setCallbacks(callbacks: CallKitCallbacks): void {
    this.#callbacks = { ...this.#callbacks, ...callbacks };
  }

  setComponentOptions(options: CallKitComponentOptions): void {
    const next = { ...this.state.options };
    if (options.allowedMinimized !== undefined) {
      next.allowedMinimized = checkBool('allowedMinimized', options.allowedMinimized);
    }
    if (options.allowedFullScreen !== undefined) {
      next.allowedFullScreen = checkBool('allowedFullScreen', options.allowedFullScreen);
    }
    if (options.videoDisplayMode !== undefined) {
      if (!DISPLAY_MODES.includes(options.videoDisplayMode)) {
        throw CallKitError.invalidArgument('videoDisplayMode', DISPLAY_MODES.join(', '));
      }
      next.videoDisplayMode = options.videoDisplayMode;
    }
    if (options.videoResolution !== undefined) {
      if (!RESOLUTIONS.includes(options.videoResolution)) {
        throw CallKitError.invalidArgument('videoResolution', RESOLUTIONS.join(', '));
      }
      next.videoResolution = options.videoResolution;
    }
    this.store.update({ options: next });
  }

  accept(): Promise<void> {
    return this.#serial(async () => {
      const calling = this.#require('accept');
      if (this.state.status !== STATUS.BE_INVITED) {
        throw new CallKitError(ServerErrorCode.INVALID_CALL_STATE, 'nothing to accept');
      }
      this.#ringtone.stop();
      await this.#prepareMedia(calling);
      await calling.accept();
      this.#connected();
      await this.#applyCameraDefault(calling);
    });
  }

  reject(): Promise<void> {
    return this.#serial(async () => {
      const calling = this.#require('reject');
      if (this.state.status !== STATUS.BE_INVITED) return;
      this.#endingLocally = true;
      try {
        await calling.reject();
      } finally {
        this.#reset();
        this.#endingLocally = false;
      }
    });
  }

  /** Cancels when dialing, rejects when invited, leaves when in a call. */
  hangup(): Promise<void> {
    return this.#serial(async () => {
      const calling = this.#calling;
      if (!calling || this.state.status === STATUS.IDLE) return;
      this.#endingLocally = true;
      try {
        await calling.hangup();
      } finally {
        this.#reset();
        this.#endingLocally = false;
      }
    });
  }

  toggleMic(): Promise<void> {
    return this.#setMic(!this.state.self.audio, 'toggleMic');
  }

  toggleCamera(): Promise<void> {
    return this.#setCamera(!this.state.self.video, 'toggleCamera');
  }

  #setMic(on: boolean, method: string): Promise<void> {
    return this.#serial(async () => {
      const calling = this.#require(method);
      await calling.setMicMute(!on);
      // Muted, the own level is 0 at once (the meter stops reading the microphone meanwhile).
      this.store.update((s) => ({ self: { ...s.self, audio: on, ...(on ? {} : { volume: 0 }) } }));
    });
  }

  #setCamera(on: boolean, method: string): Promise<void> {
    return this.#serial(async () => {
      const calling = this.#require(method);
      await (on ? calling.openCamera() : calling.closeCamera());
      this.store.update((s) => ({ self: { ...s.self, video: on } }));
    });
  }

  #setSpeaker(muted: boolean): void {
    const calling = this.#require(muted ? 'muteSpeaker' : 'unMuteSpeaker');
    void calling.setSpeakerMute(muted).catch((error: unknown) => {
      this.#log.warn('[callkit] speaker mute failed', error);
    });
    if (this.state.speakerMuted !== muted) this.store.update({ speakerMuted: muted });
  }

  #applyLogLevel(): void {
    const level = this.#logLevel;
    if (level === undefined) return;
    const sdk = this.#calling as unknown as { setLogLevel?: (level: number) => void } | undefined;
    sdk?.setLogLevel?.(level);
  }

  /** Moves to the next camera of the machine (front/back on a phone). */
  switchCamera(): Promise<void> {
    return this.#serial(async () => {
      const calling = this.#require('switchCamera');
      const cameras = await calling.getCameras();
      if (cameras.length < 2) return;
      this.#cameraIndex = (this.#cameraIndex + 1) % cameras.length;
      const camera = cameras[this.#cameraIndex]!;
      await calling.switchDevice({ deviceType: 'video', deviceId: camera.deviceId });
    });
  }

  /** Switches the call between video and audio; everyone in it follows. */
  switchMediaType(): Promise<void> {
    return this.#serial(async () => {
      const calling = this.#require('switchMediaType');
      const toAudio = this.state.mediaType === CallMediaType.VIDEO;
      await (toAudio ? calling.switchToAudioCall() : calling.switchToVideoCall());
      this.#changeMediaType(toAudio ? CallMediaType.AUDIO : CallMediaType.VIDEO, true);
      if (!toAudio) this.store.update((s) => ({ self: { ...s.self, video: true } }));
    });
  }

  setMinimized(minimized: boolean): void {
    checkBool('minimized', minimized);
    const old = this.state.minimized;
    if (old === minimized) return;
    if (minimized && this.state.status === STATUS.IDLE) return;
    this.store.update({ minimized, ...(minimized ? { fullScreen: false } : {}) });
    this.#safe('onMinimized', () => this.#callbacks.onMinimized?.(old, minimized));
  }

  setFullScreen(fullScreen: boolean): void {
    checkBool('fullScreen', fullScreen);
    if (fullScreen && !this.state.options.allowedFullScreen) return;
    if (this.state.fullScreen !== fullScreen) this.store.update({ fullScreen });
  }

  swapLayout(): void {
    this.store.update((s) => ({ layout: s.layout === 'local' ? 'remote' : 'local' }));
  }

  dismissToast(id: number): void {
    const timer = this.#toastTimers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.#toastTimers.delete(id);
    if (this.state.toasts.some((t) => t.id === id)) {
      this.store.update((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
    }
  }

  /**
   * The component tells where videos go: call the returned attacher's `local(el)` /
   * `remote(userID, el)` as elements appear and disappear. An element without an id gets one (the
   * SDK renders by element id).
   */
  attachViews(): ViewAttacher {
    return {
      local: (el) => {
        this.#localEl = el;
        this.#applyLocalView();
      },
      remote: (userID, el) => {
        if (el) this.#remoteEls.set(userID, el);
        else this.#remoteEls.delete(userID);
        this.#applyRemoteView(userID);
      },
    };
  }

  // ---- internals ------------------------------------------------------------------------------

  #serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(operation, operation);
    this.#queue = run.catch(() => {});
    return run;
  }

  #require(method: string): TRTCCalling {
    if (!this.#calling) throw CallKitError.notInitialized(method);
    return this.#calling;
  }

  #requireIdle(method: string): TRTCCalling {
    const calling = this.#require(method);
    if (this.state.status !== STATUS.IDLE) {
      throw new CallKitError(ServerErrorCode.ALREADY_IN_CALL, `${method}: already in a call`);
    }
    return calling;
  }

  /**
   * The argument checks the kit can make itself (`check`, then the media type), before the status
   * moves, as TUICallKit validates its parameters first: a call refused here never shows dialing.
   * beforeCalling(type, error) and an error toast report it; failures only the server can know
   * (busy, no such group...) take the dialing → idle path of `#startCalling`.
   */
  #checkArguments(type: unknown, check: () => void): KnownMediaType {
    try {
      check();
      return checkType(type);
    } catch (error) {
      this.#safe('beforeCalling', () =>
        this.#callbacks.beforeCalling?.(type as CallMediaType, error),
      );
      this.#toast({ kind: 'error', code: codeOf(error) });
      throw error;
    }
  }

  /** Every invitee is a valid user ID, and none is the logged-in user. */
  #checkInvitees(userIDs: unknown[]): void {
    for (const userID of userIDs) {
      if (typeof userID !== 'string' || !userIdPattern.test(userID)) {
        throw CallKitError.invalidUserID(userID);
      }
      if (userID === this.state.self.userID) throw CallKitError.cannotCallSelf();
    }
  }

  /** Caller side: beforeCalling, show dialing, then ring; a failure goes back to idle. */
  async #startCalling(
    mediaType: CallMediaType,
    dialing: Status,
    fields: Partial<CallKitState>,
    start: () => Promise<unknown>,
  ): Promise<void> {
    const calling = this.#calling!;
    this.store.update({
      ...fields,
      mediaType,
      callStatus: CallStatus.CALLING,
      self: { ...this.state.self, audio: true, video: mediaType === CallMediaType.VIDEO },
    });
    // TUICallKit's order for the caller: statusChanged(idle → dialing-*), then beforeCalling.
    this.#setStatus(dialing);
    this.#safe('beforeCalling', () => this.#callbacks.beforeCalling?.(mediaType));
    try {
      await this.#prepareMedia(calling);
      await start();
    } catch (error) {
      this.#safe('beforeCalling', () => this.#callbacks.beforeCalling?.(mediaType, error));
      this.#reset();
      // The SDK's ERROR event may have toasted it already; #toast shows one per error.
      this.#toast({ kind: 'error', code: codeOf(error) });
      throw error;
    }
    await this.#applyCameraDefault(calling);
  }

  async #prepareMedia(calling: TRTCCalling): Promise<void> {
    await calling.setVideoQuality(this.state.options.videoResolution);
  }

  async #applyCameraDefault(calling: TRTCCalling): Promise<void> {
    if (this.state.mediaType !== CallMediaType.VIDEO || this.state.options.cameraDefaultOn) return;
    if (this.state.status === STATUS.IDLE) return;
    await calling.closeCamera();
    this.store.update((s) => ({ self: { ...s.self, video: false } }));
  }

  /** The call is up: timer starts, status becomes calling-*. Idempotent. */
  #connected(): void {
    const s = this.state;
    if (s.status === STATUS.IDLE) return;
    if (s.callStatus !== CallStatus.CONNECTED) {
      this.#ringtone.stop();
      this.store.update({
        callStatus: CallStatus.CONNECTED,
        connectedAt: Date.now(),
        self: { ...s.self, video: s.mediaType === CallMediaType.VIDEO && s.self.video !== false },
      });
    }
    this.#setStatus(callingStatus(this.state.isGroup, this.state.mediaType));
    this.#meter.start(
      ({ remote, self }) => {
        this.store.update((s) => ({
          ...(self !== undefined ? { self: { ...s.self, volume: self } } : {}),
          remotes: s.remotes.map((p) =>
            remote.has(p.userID) ? { ...p, volume: remote.get(p.userID)! } : p,
          ),
        }));
      },
      // The own level only while the mic is on: muted, nothing is metered and it reads 0.
      () => (this.state.self.audio ? (this.#calling?.getLocalAudioTrack() ?? null) : null),
    );
  }

  /** `notify`: only the side that switched tells its app (TUICallKit's switchCallMediaType). */
  #changeMediaType(mediaType: CallMediaType, notify: boolean): void {
    this.store.update((s) => ({
      mediaType,
      ...(mediaType === CallMediaType.AUDIO
        ? {
            self: { ...s.self, video: false },
            remotes: s.remotes.map((p) => ({ ...p, video: false })),
          }
        : {}),
    }));
    if (this.state.callStatus === CallStatus.CONNECTED) {
      this.#setStatus(callingStatus(this.state.isGroup, mediaType), { notify });
    }
  }

  /**
   * The one place STATUS changes: refuses transitions the table does not allow, logs prev→next,
   * calls statusChanged once, and afterCalling when a call is over. What the app is told follows
   * TUICallKit's code, not our state: it names the status being left by the call status while
   * ringing or connecting (`dialing-c2c`/`dialing-group`: never `be-invited`, and `dialing-group`
   * for a join from idle or a 1:1 dialing that became a group); it calls afterCalling
   * before statusChanged(→idle) when the end came from the network (its engine-event handlers run
   * afterCalling, then reset the store) and after it when the user ended the call; and only the
   * side that switched the media type hears that change (`notify: false` on the other).
   */
  #setStatus(
    next: Status,
    how: { notify?: boolean; ended?: 'remote' | 'local'; wasGroup?: boolean } = {},
  ): void {
    const prev = this.state.status;
    if (prev === next) return;
    if (!ALLOWED[prev].includes(next)) {
      this.#log.error(`[callkit] refused status change ${prev} -> ${next}`);
      return;
    }
    this.#log.info(`[callkit] status ${prev} -> ${next}`);
    // TUICallKit derives oldStatus from its call status: while ringing (either side) and on the
    // way into a call (connect, or joinInGroupCall from idle) it is dialing-c2c/dialing-group.
    const ringing =
      prev === STATUS.BE_INVITED || prev === STATUS.DIALING_C2C || prev === STATUS.DIALING_GROUP;
    const connecting = !prev.startsWith('calling-') && next.startsWith('calling-');
    const group = how.wasGroup ?? this.state.isGroup;
    const reported =
      ringing || connecting ? (group ? STATUS.DIALING_GROUP : STATUS.DIALING_C2C) : prev;
    const afterCalling = () => this.#safe('afterCalling', () => this.#callbacks.afterCalling?.());
    const remoteEnd = next === STATUS.IDLE && how.ended === 'remote';
    if (remoteEnd) afterCalling();
    this.store.update({ status: next });
    this.#syncRingtone();
    if (how.notify !== false) {
      this.#safe('statusChanged', () =>
        this.#callbacks.statusChanged?.({ oldStatus: reported, newStatus: next }),
      );
    }
    if (next === STATUS.IDLE && !remoteEnd) afterCalling();
    if (next === STATUS.IDLE && this.#recentsWanted && this.#calling) {
      // The call just ended is in the server's history by now (written before its last push).
      this.#loadRecents('refresh').catch((error: unknown) =>
        this.#log.warn('[callkit] refreshing the recent calls failed', error),
      );
    }
  }

  /** Back to idle, keeping the user, options and pending toasts. Idempotent. */
  #reset(ended: 'remote' | 'local' = 'local'): void {
    if (this.state.status === STATUS.IDLE && this.state.role === CallRole.UNKNOWN) return;
    if (this.#endingLocally) ended = 'local';
    this.#ringtone.stop();
    this.#meter.stop();
    const prev = this.state.status;
    // TUICallKit keeps isGroup through its reset, so a ringing group invitee ends as dialing-group.
    const wasGroup = this.state.isGroup;
    // Everything but the status first, so statusChanged listeners see the idle state.
    this.store.update((s) => ({ ...idleState(s), status: prev }));
    this.#setStatus(STATUS.IDLE, { ended, wasGroup });
  }

  #syncRingtone(): void {
    const s = this.state;
    const rings =
      (s.status === STATUS.BE_INVITED ||
        s.status === STATUS.DIALING_C2C ||
        s.status === STATUS.DIALING_GROUP) &&
      !s.options.muteMode;
    if (rings) this.#ringtone.start(s.options.callingBell);
    else this.#ringtone.stop();
  }

  /** Whether the ringtone is playing (for tests and the view's mute hint). */
  get ringing(): boolean {
    return this.#ringtone.playing;
  }

  /**
   * Shows a toast. An error reaches the kit twice (the SDK's ERROR event and the rejected
   * promise): an error toast whose code is already on screen is not shown again.
   */
  #toast(toast: Omit<Toast, 'id'>): void {
    if (
      toast.kind === 'error' &&
      this.state.toasts.some((t) => t.kind === 'error' && t.code === toast.code)
    ) {
      return;
    }
    const id = this.#nextToast++;
    this.store.update((s) => ({ toasts: [...s.toasts, { id, ...toast }] }));
    this.#toastTimers.set(
      id,
      setTimeout(() => this.dismissToast(id), TOAST_MS),
    );
  }

  #setOption<K extends keyof CallKitState['options']>(
    key: K,
    value: CallKitState['options'][K],
  ): void {
    this.store.update((s) => ({ options: { ...s.options, [key]: value } }));
  }

  #updateRemote(userID: string, change: Partial<Participant>, add = false): void {
    this.store.update((s) => {
      const exists = s.remotes.some((p) => p.userID === userID);
      if (!exists && !add) return {};
      return {
        remotes: exists
          ? s.remotes.map((p) => (p.userID === userID ? { ...p, ...change } : p))
          : [...s.remotes, participant(userID, change)],
      };
    });
  }

  #removeRemote(userID: string): void {
    if (!this.state.remotes.some((p) => p.userID === userID)) return;
    this.store.update((s) => ({ remotes: s.remotes.filter((p) => p.userID !== userID) }));
  }

  /**
   * A call with more than one other person is a group call, however it began (an invitee of
   * `inviteUser` only learns of the others as they enter); once a group call, always one.
   */
  #regroup(): void {
    const s = this.state;
    if (s.isGroup || s.remotes.length < 2) return;
    this.store.update({ isGroup: true });
    if (s.callStatus === CallStatus.CONNECTED) {
      this.#setStatus(callingStatus(true, s.mediaType));
    }
  }

  /** The SDK's latest NETWORK_QUALITY onto the participants; nothing changes for equal levels. */
  #applyNetworkQuality(local: number, remote: { userID: string; quality: number }[]): void {
    const s = this.state;
    if (s.status === STATUS.IDLE) return;
    const levels = new Map(remote.map((r) => [r.userID, r.quality]));
    const moved = (p: Participant, level: number | undefined) =>
      level !== undefined && level !== p.networkQuality;
    const selfMoved = moved(s.self, local);
    if (!selfMoved && !s.remotes.some((p) => moved(p, levels.get(p.userID)))) return;
    this.store.update((state) => ({
      self: selfMoved ? { ...state.self, networkQuality: local } : state.self,
      remotes: state.remotes.map((p) => {
        const level = levels.get(p.userID);
        return moved(p, level) ? { ...p, networkQuality: level! } : p;
      }),
    }));
  }

  /** A 1:1 call ends with its only peer; a group call ends when the server says so. */
  #peerGone(userID: string, ended: 'remote' | 'local' = 'local'): void {
    this.#removeRemote(userID);
    if (!this.state.isGroup) this.#reset(ended);
  }

  #applyLocalView(): void {
    const calling = this.#calling;
    const el = this.#localEl;
    if (!calling) return;
    if (!el || this.state.status === STATUS.IDLE) {
      void calling.stopLocalView().catch(() => {});
      return;
    }
    const userID = this.state.self.userID;
    void calling.startLocalView({ userID, videoViewDomID: elementID(el) }).catch((error) => {
      this.#log.warn('[callkit] local view failed', error);
    });
  }

  #applyRemoteView(userID: string): void {
    const calling = this.#calling;
    if (!calling || this.state.status === STATUS.IDLE) return;
    const el = this.#remoteEls.get(userID);
    const view = el
      ? calling.startRemoteView({ userID, videoViewDomID: elementID(el) })
      : calling.stopRemoteView({ userID });
    void view.catch((error) => this.#log.warn('[callkit] remote view failed', error));
  }

  #safe(name: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#log.error(`[callkit] the app's ${name} callback threw`, error);
    }
  }

  async #teardown(): Promise<void> {
    const calling = this.#calling;
    // Before the reset to idle, which would refresh the list of the user going away.
    this.#recentsWanted = false;
    this.#recentsSeq++;
    this.#reset();
    for (const timer of this.#toastTimers.values()) clearTimeout(timer);
    this.#toastTimers.clear();
    this.#unwire?.();
    this.#unwire = undefined;
    this.#calling = undefined;
    this.#engine = undefined;
    this.#localEl = null;
    this.#remoteEls.clear();
    this.store.update((s) => ({
      ...idleState(s),
      toasts: [],
      self: participant(''),
      recents: emptyRecents(),
    }));
    if (calling) await calling.logout().catch(() => {});
  }

  /** Subscribes to the SDK's events; returns the unsubscribe. */
  #wire(calling: TRTCCalling): () => void {
    const offs: (() => void)[] = [];
    const on = <K extends keyof typeof handlers>(event: K, fn: (typeof handlers)[K]) => {
      calling.on(event as never, fn as never);
      offs.push(() => calling.off(event as never, fn as never));
    };
    const handlers = {
      [EVENT.INVITED]: (e: {
        sponsor: string;
        userIDList: string[];
        isFromGroup: boolean;
        inviteData: { callType: number };
      }) => {
        if (this.state.status !== STATUS.IDLE) return; // the SDK answers busy itself
        const mediaType = e.inviteData.callType === 1 ? CallMediaType.AUDIO : CallMediaType.VIDEO;
        const self = this.state.self.userID;
        const others = e.userIDList.filter((id) => id !== self && id !== e.sponsor);
        this.#safe('beforeCalling', () => this.#callbacks.beforeCalling?.(mediaType));
        this.store.update((s) => ({
          role: CallRole.CALLEE,
          callStatus: CallStatus.CALLING,
          mediaType,
          isGroup: e.isFromGroup || others.length > 0,
          peerUserID: e.sponsor,
          self: { ...s.self, audio: true, video: mediaType === CallMediaType.VIDEO },
          remotes: [
            participant(e.sponsor, { video: mediaType === CallMediaType.VIDEO }),
            ...others.map((id) => participant(id, { ringing: true })),
          ],
        }));
        this.#setStatus(STATUS.BE_INVITED);
      },
      [EVENT.REJECT]: ({ userID }: { userID: string }) => {
        if (this.state.role === CallRole.CALLER) this.#toast({ kind: 'rejected', userID });
        this.#peerGone(userID);
      },
      [EVENT.LINE_BUSY]: ({ userID }: { userID: string }) => {
        this.#toast({ kind: 'busy', userID });
        this.#peerGone(userID);
      },
      [EVENT.NO_RESP]: ({ userIDList, userID }: { userID: string; userIDList: string[] }) => {
        for (const id of userIDList.length ? userIDList : [userID]) {
          this.#toast({ kind: 'no-answer', userID: id });
          this.#peerGone(id);
        }
      },
      [EVENT.CALLING_CANCEL]: ({ sponsor, reason }: { sponsor: string; reason?: string }) => {
        // Answered (or declined) on another of the user's devices: not a cancelled call.
        if (reason === 'answered_elsewhere') this.#toast({ kind: 'answered-elsewhere' });
        else this.#toast({ kind: 'cancelled', userID: sponsor });
        this.#reset('remote');
      },
      [EVENT.CALLING_TIMEOUT]: () => this.#reset('remote'),
      [EVENT.USER_ENTER]: ({ userID }: { userID: string }) => {
        this.#updateRemote(userID, { ringing: false }, true);
        this.#regroup();
        if (this.state.status !== STATUS.BE_INVITED) this.#connected();
        this.#applyRemoteView(userID);
      },
      [EVENT.USER_LEAVE]: ({ userID }: { userID: string }) => this.#peerGone(userID, 'remote'),
      [EVENT.USER_AUDIO_AVAILABLE]: (e: { userID: string; isAudioAvailable: boolean }) =>
        this.#updateRemote(e.userID, { audio: e.isAudioAvailable }),
      [EVENT.USER_VIDEO_AVAILABLE]: (e: { userID: string; isVideoAvailable: boolean }) =>
        this.#updateRemote(e.userID, { video: e.isVideoAvailable }),
      [EVENT.GROUP_CALL_INVITEE_LIST_UPDATE]: ({ userIDList }: { userIDList: string[] }) => {
        const ringing = new Set(userIDList);
        this.store.update((s) => {
          const known = new Set(s.remotes.map((p) => p.userID));
          const self = s.self.userID;
          return {
            // A ringing tile whose invitee is no longer ringing (and never joined) goes away.
            remotes: [
              ...s.remotes.filter((p) => !p.ringing || ringing.has(p.userID)),
              ...userIDList
                .filter((id) => !known.has(id) && id !== self)
                .map((id) => participant(id, { ringing: true })),
            ],
          };
        });
        this.#regroup();
      },
      [EVENT.CALL_TYPE_CHANGED]: ({ callType }: { callType: number }) =>
        this.#changeMediaType(callType === 1 ? CallMediaType.AUDIO : CallMediaType.VIDEO, false),
      [EVENT.NETWORK_QUALITY]: (e: {
        localQuality: { userID: string; quality: number };
        remoteQuality: { userID: string; quality: number }[];
      }) => this.#applyNetworkQuality(e.localQuality.quality, e.remoteQuality),
      // A microtask later: when the call ended because this user was kicked out, the SDK reports
      // KICKED_OUT right behind CALL_END, and TUICallKit's order for a kick is kickedOut(event),
      // then statusChanged(→idle) — the kick handler below has then reset already.
      [EVENT.CALL_END]: () => queueMicrotask(() => this.#reset('remote')),
      // As TUICallKit: kickedOut(event) first, then the call is torn down.
      [EVENT.KICKED_OUT]: (event: unknown) => {
        this.#safe('kickedOut', () => this.#callbacks.kickedOut?.(event));
        this.#toast({ kind: 'kicked' });
        this.#reset();
      },
      [EVENT.ERROR]: ({ code }: { code: number }) => {
        // Failures of the kit's own operations are toasted where they happen; these come from
        // the call itself (media, connection) while it runs.
        if (this.state.status !== STATUS.IDLE) this.#toast({ kind: 'error', code });
      },
    };
    for (const [event, fn] of Object.entries(handlers)) {
      on(event as keyof typeof handlers, fn as never);
    }
    return () => offs.splice(0).forEach((off) => off());
  }
}

function callingStatus(isGroup: boolean, mediaType: CallMediaType): Status {
  if (isGroup) {
    return mediaType === CallMediaType.AUDIO
      ? STATUS.CALLING_GROUP_AUDIO
      : STATUS.CALLING_GROUP_VIDEO;
  }
  return mediaType === CallMediaType.AUDIO ? STATUS.CALLING_C2C_AUDIO : STATUS.CALLING_C2C_VIDEO;
}

/** A call's media type once checked: audio or video (never UNKNOWN). */
type KnownMediaType = typeof CallMediaType.AUDIO | typeof CallMediaType.VIDEO;

function checkType(type: unknown): KnownMediaType {
  if (type !== CallMediaType.AUDIO && type !== CallMediaType.VIDEO) {
    throw CallKitError.invalidArgument('type', '1 (audio) or 2 (video)');
  }
  return type;
}

function checkBool(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw CallKitError.invalidArgument(name, 'a boolean');
  return value;
}

function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || !value) {
    throw CallKitError.invalidArgument(name, 'a non-empty string');
  }
  return value;
}

/** SDKAppID or sdkAppID, a number or a numeric string (apps read it from env variables). */
function sdkAppIDOf(params: InitParams): number {
  const raw =
    (params as { SDKAppID?: unknown }).SDKAppID ?? (params as { sdkAppID?: unknown }).sdkAppID;
  const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw CallKitError.invalidArgument('SDKAppID', 'a positive integer');
  }
  return value;
}

function codeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function elementID(el: HTMLElement): string {
  if (!el.id) el.id = `callkit-view-${nextViewID++}`;
  return el.id;
}
