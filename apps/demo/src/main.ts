/**
 * The Ringline demo: log in as anyone, call anyone. It drives the SDK exactly as an app built on
 * trtc-calling-js would: the module comes from the server at run time, the API and events are the
 * seed's. State lives in `Store` (state.ts); this file turns SDK events and clicks into actions,
 * renders the state, and keeps the SDK's video views in step with it.
 */
import TRTCCalling from '/sdk/trtc-calling.mjs';
import type { CallType, DeviceInfo, EventHandlers, EventName } from './sdk/trtc-calling.js';
import { describeError, fetchDevUserSig } from './dev-server.js';
import { findElements, type Elements } from './dom.js';
import { parseUserID } from './kit-form.js';
import { EventLog } from './log.js';
import { Store, type DemoState, type VideoQuality } from './state.js';

const STORAGE_KEY = 'ringline-demo.userID';
const AUDIO: CallType = 1;
const VIDEO: CallType = 2;
const QUALITIES: readonly VideoQuality[] = ['480p', '720p', '1080p'];

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

function callTypeName(type: CallType | null): string {
  return type === AUDIO ? 'audio call' : 'video call';
}

class DemoApp {
  readonly #el: Elements;
  readonly #log: EventLog;
  readonly #store: Store;
  #sdk: TRTCCalling | null = null;
  /** Undoes every `on` of the current SDK instance. */
  #unsubscribe: Array<() => void> = [];
  /** Aborts a login in progress when the user logs out or logs in again. */
  #loginAbort: AbortController | null = null;
  /** True once call()/accept() resolved: the SDK then has local media to show. */
  #localMedia = false;
  /** Which views the SDK is rendering now, so each start is matched by exactly one stop. */
  #localShown: string | null = null;
  #remoteShown: string | null = null;
  /** Call operations in flight; the buttons stay disabled meanwhile so clicks cannot interleave. */
  #pending = 0;

  constructor(el: Elements) {
    this.#el = el;
    this.#log = new EventLog(el.log);
    this.#store = new Store((message, kind) => this.#log.add(kind, message));
    this.#store.subscribe((state, prev) => {
      this.#syncViews(state);
      this.#render(state);
      this.#moveFocus(state, prev);
    });
    this.#render(this.#store.state);
    this.#bind();
    el.userID.value = localStorage.getItem(STORAGE_KEY) ?? '';
    el.quality.value = this.#store.state.quality;
    (el.userID.value ? el.login : el.userID).focus();
  }

  // ---- user actions ------------------------------------------------------------------------

  #bind(): void {
    const el = this.#el;
    el.loginForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.login(el.userID.value.trim());
    });
    el.logout.addEventListener('click', () => void this.logout());
    el.callForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const type = event.submitter === el.callAudio ? AUDIO : VIDEO;
      void this.call(el.callee.value.trim(), type);
    });
    el.quality.addEventListener('change', () => this.#setQuality(el.quality.value));
    el.accept.addEventListener('click', () => void this.accept());
    el.reject.addEventListener('click', () => void this.reject());
    el.cancel.addEventListener('click', () => void this.hangup('You cancelled the call'));
    el.hangup.addEventListener('click', () => void this.hangup('You hung up'));
    el.mute.addEventListener('click', () => void this.toggleMic());
    el.camera.addEventListener('click', () => void this.toggleCamera());
    el.toAudio.addEventListener('click', () => void this.switchCallType(AUDIO));
    el.toVideo.addEventListener('click', () => void this.switchCallType(VIDEO));
    el.refreshDevices.addEventListener('click', () => void this.refreshDevices());
    el.cameraSelect.addEventListener(
      'change',
      () => void this.switchDevice('video', el.cameraSelect.value),
    );
    el.micSelect.addEventListener(
      'change',
      () => void this.switchDevice('audio', el.micSelect.value),
    );
    el.clearLog.addEventListener('click', () => this.#log.clear());
    navigator.mediaDevices?.addEventListener('devicechange', () => {
      if (this.#sdk) void this.refreshDevices();
    });
    // Leaving the page ends the session now; otherwise the server would hold it (and any call)
    // for its resume window, and the peer would wait on someone who is gone.
    window.addEventListener('pagehide', () => {
      if (this.#sdk) void this.#sdk.logout().catch(() => undefined);
    });
  }

  async login(userID: string): Promise<void> {
    if (!this.#validUserID(this.#el.userID, userID)) return;
    this.#loginAbort?.abort();
    const abort = new AbortController();
    this.#loginAbort = abort;
    this.#dropSdk();
    localStorage.setItem(STORAGE_KEY, userID);
    this.#store.dispatch({ type: 'signingIn', userID });
    try {
      this.#log.add('action', 'GET /api/dev/usersig', { userID });
      const sig = await fetchDevUserSig(userID, abort.signal);
      if (abort.signal.aborted) return;
      this.#log.add('action', 'new TRTCCalling()', { SDKAppID: sig.sdkAppID });
      const sdk = new TRTCCalling({ SDKAppID: sig.sdkAppID });
      this.#sdk = sdk;
      this.#subscribe(sdk);
      this.#log.add('action', 'login()', { userID: sig.userID });
      await sdk.login({ userID: sig.userID, userSig: sig.userSig });
      if (abort.signal.aborted || this.#sdk !== sdk) return;
      this.#log.add('info', 'login() resolved');
      // SDK_READY normally comes first; a login that resolved is ready either way.
      this.#store.dispatch({ type: 'ready' });
    } catch (error) {
      if (abort.signal.aborted) return;
      this.#log.add('error', 'login failed', error);
      this.#dropSdk();
      this.#store.dispatch({ type: 'signedOut', notice: `Login failed — ${describeError(error)}` });
    } finally {
      if (this.#loginAbort === abort) this.#loginAbort = null;
    }
  }

  async logout(): Promise<void> {
    this.#loginAbort?.abort();
    const sdk = this.#sdk;
    if (sdk) {
      await this.#api('logout()', () => sdk.logout());
      this.#dropSdk();
    }
    this.#store.dispatch({ type: 'signedOut', notice: 'Logged out' });
    this.#el.userID.focus();
  }

  async call(callee: string, type: CallType): Promise<void> {
    const sdk = this.#sdk;
    if (!sdk || !this.#validUserID(this.#el.callee, callee)) return;
    const { quality } = this.#store.state;
    // Dialing before call() is sent, so events that arrive while it is pending find that state.
    this.#store.dispatch({ type: 'dial', peer: callee, callType: type });
    const outcome = await this.#busy(async () => {
      // The seed: setVideoQuality must come before call() to take effect.
      await this.#api(`setVideoQuality('${quality}')`, () => sdk.setVideoQuality(quality));
      return this.#api('call()', () => sdk.call({ userID: callee, type }), {
        userID: callee,
        type,
      });
    });
    if (this.#sdk !== sdk) return;
    if (!outcome.ok) {
      const notice = `Could not call ${callee} — ${describeError(outcome.error)}`;
      this.#store.dispatch({ type: 'ended', notice });
      return;
    }
    this.#mediaAcquired();
    void this.refreshDevices();
  }

  async accept(): Promise<void> {
    const sdk = this.#sdk;
    if (!sdk || this.#store.state.status !== 'ringing') return;
    const { quality } = this.#store.state;
    const outcome = await this.#busy(async () => {
      // The seed: setVideoQuality must come before accept() to take effect.
      await this.#api(`setVideoQuality('${quality}')`, () => sdk.setVideoQuality(quality));
      return this.#api('accept()', () => sdk.accept());
    });
    if (this.#sdk !== sdk) return;
    if (!outcome.ok) {
      const notice = `Could not accept the call — ${describeError(outcome.error)}`;
      this.#store.dispatch({ type: 'ended', notice });
      return;
    }
    // USER_ENTER usually moved the call on already; if not, accepting does.
    if (this.#store.state.status === 'ringing') this.#store.dispatch({ type: 'accepted' });
    this.#mediaAcquired();
    void this.refreshDevices();
  }

  async reject(): Promise<void> {
    const sdk = this.#sdk;
    if (!sdk || this.#store.state.status !== 'ringing') return;
    const caller = this.#store.state.peer ?? 'the caller';
    await this.#busy(() => this.#api('reject()', () => sdk.reject()));
    this.#store.dispatch({ type: 'ended', notice: `You rejected the call from ${caller}` });
  }

  /** Cancels while dialing, leaves when in a call (the SDK's hangup does both). */
  async hangup(notice: string): Promise<void> {
    const sdk = this.#sdk;
    if (!sdk || this.#store.state.status === 'idle') return;
    await this.#busy(() => this.#api('hangup()', () => sdk.hangup()));
    if (this.#sdk === sdk) this.#store.dispatch({ type: 'ended', notice });
  }

  async toggleMic(): Promise<void> {
    const sdk = this.#sdk;
    if (!sdk) return;
    const mute = !this.#store.state.micMuted;
    const { ok } = await this.#busy(() =>
      this.#api(`setMicMute(${mute})`, () => sdk.setMicMute(mute)),
    );
    if (ok) this.#store.dispatch({ type: 'micMuted', muted: mute });
  }

  async toggleCamera(): Promise<void> {
    const sdk = this.#sdk;
    if (!sdk) return;
    const off = !this.#store.state.cameraOff;
    const { ok } = await this.#busy(() =>
      off
        ? this.#api('closeCamera()', () => sdk.closeCamera())
        : this.#api('openCamera()', () => sdk.openCamera()),
    );
    if (ok) this.#store.dispatch({ type: 'cameraOff', off });
  }

  async switchCallType(type: CallType): Promise<void> {
    const sdk = this.#sdk;
    if (!sdk || this.#store.state.status !== 'in call') return;
    const { ok } = await this.#busy(() =>
      type === AUDIO
        ? this.#api('switchToAudioCall()', () => sdk.switchToAudioCall())
        : this.#api('switchToVideoCall()', () => sdk.switchToVideoCall()),
    );
    if (ok) this.#store.dispatch({ type: 'callType', callType: type });
  }

  async refreshDevices(): Promise<void> {
    const sdk = this.#sdk;
    if (!sdk) return;
    const [cameras, microphones] = await Promise.all([
      this.#api('getCameras()', () => sdk.getCameras(), undefined, true),
      this.#api('getMicrophones()', () => sdk.getMicrophones(), undefined, true),
    ]);
    if (this.#sdk !== sdk) return;
    if (cameras.ok) fillDevices(this.#el.cameraSelect, cameras.value, 'camera');
    if (microphones.ok) fillDevices(this.#el.micSelect, microphones.value, 'microphone');
  }

  async switchDevice(deviceType: 'video' | 'audio', deviceId: string): Promise<void> {
    const sdk = this.#sdk;
    if (!sdk || !deviceId) return;
    await this.#api('switchDevice()', () => sdk.switchDevice({ deviceType, deviceId }), {
      deviceType,
      deviceId,
    });
  }

  #setQuality(value: string): void {
    const quality = QUALITIES.find((q) => q === value);
    if (!quality) return;
    this.#store.dispatch({ type: 'quality', quality });
    const sdk = this.#sdk;
    if (sdk) void this.#api(`setVideoQuality('${quality}')`, () => sdk.setVideoQuality(quality));
  }

  // ---- SDK events --------------------------------------------------------------------------

  #subscribe(sdk: TRTCCalling): void {
    const listen = <E extends EventName>(name: E, handler: EventHandlers[E]) => {
      sdk.on(name, handler, this);
      this.#unsubscribe.push(() => sdk.off(name, handler, this));
    };
    // Log first, so an event's line comes before the status change it causes. Network-quality
    // and voice-volume reports come every few seconds of a call and would drown the rest;
    // CALLING_END is CALL_END's alias (one value), logged once.
    for (const name of new Set(Object.values(TRTCCalling.EVENT))) {
      if (name === TRTCCalling.EVENT.NETWORK_QUALITY) continue;
      if (name === TRTCCalling.EVENT.USER_VOICE_VOLUME) continue;
      listen(name, (payload: unknown) =>
        this.#log.add(name === TRTCCalling.EVENT.ERROR ? 'error' : 'event', name, payload),
      );
    }
    const { EVENT } = TRTCCalling;
    const store = this.#store;
    const peer = () => store.state.peer ?? 'the caller';
    listen(EVENT.SDK_READY, () => {
      store.dispatch({ type: 'ready' });
      void this.refreshDevices();
    });
    listen(EVENT.INVITED, ({ sponsor, inviteData, inviteID }) => {
      store.dispatch({
        type: 'invited',
        incoming: { sponsor, callType: inviteData.callType === AUDIO ? AUDIO : VIDEO, inviteID },
      });
    });
    listen(EVENT.REJECT, ({ userID }) =>
      store.dispatch({ type: 'ended', notice: `${userID} rejected the call` }),
    );
    listen(EVENT.NO_RESP, ({ userID }) =>
      store.dispatch({ type: 'ended', notice: `${userID} did not answer` }),
    );
    listen(EVENT.LINE_BUSY, ({ userID }) =>
      store.dispatch({ type: 'ended', notice: `${userID} is busy` }),
    );
    listen(EVENT.CALLING_CANCEL, () =>
      store.dispatch({ type: 'ended', notice: `${peer()} cancelled the call` }),
    );
    listen(EVENT.CALLING_TIMEOUT, () =>
      store.dispatch({ type: 'ended', notice: `The call from ${peer()} timed out` }),
    );
    listen(EVENT.USER_ENTER, ({ userID }) => store.dispatch({ type: 'userEnter', userID }));
    listen(EVENT.USER_LEAVE, ({ userID }) => store.dispatch({ type: 'userLeave', userID }));
    listen(EVENT.CALL_END, () => store.dispatch({ type: 'ended', notice: 'The call ended' }));
    listen(EVENT.USER_VIDEO_AVAILABLE, ({ userID, isVideoAvailable }) =>
      store.dispatch({ type: 'remoteVideo', userID, available: isVideoAvailable }),
    );
    listen(EVENT.USER_AUDIO_AVAILABLE, ({ userID, isAudioAvailable }) =>
      store.dispatch({ type: 'remoteAudio', userID, available: isAudioAvailable }),
    );
    listen(EVENT.ERROR, (error) =>
      store.dispatch({ type: 'notice', notice: `Error ${describeError(error)}` }),
    );
    listen(EVENT.KICKED_OUT, () => {
      // Not inside the SDK's own dispatch: dropping unsubscribes, and this instance is done.
      queueMicrotask(() => {
        if (this.#sdk === sdk) this.#dropSdk();
      });
      store.dispatch({ type: 'signedOut', notice: 'You were signed out: logged in elsewhere' });
    });
    // A Ringline extension: the peer switched between audio and video, and the SDK followed.
    listen(EVENT.CALL_TYPE_CHANGED, ({ callType }) =>
      store.dispatch({ type: 'callType', callType: callType === AUDIO ? AUDIO : VIDEO }),
    );
  }

  /** Forgets the SDK instance: its events stop reaching the page and its views are cleared. */
  #dropSdk(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#sdk = null;
    this.#localMedia = false;
    this.#localShown = null;
    this.#remoteShown = null;
    this.#el.localView.replaceChildren();
    this.#el.remoteView.replaceChildren();
    for (const select of [this.#el.cameraSelect, this.#el.micSelect]) {
      select.replaceChildren(new Option('Log in to list devices', ''));
    }
  }

  // ---- helpers -----------------------------------------------------------------------------

  /**
   * Runs one SDK call, logging it and any failure with its code — a rejected promise and a
   * synchronous throw alike — so no click can end in an unhandled rejection.
   */
  async #api<T>(
    name: string,
    run: () => T | Promise<T>,
    args?: unknown,
    quiet = false,
  ): Promise<Outcome<T>> {
    if (!quiet) this.#log.add('action', name, args);
    try {
      return { ok: true, value: await run() };
    } catch (error) {
      this.#log.add('error', `${name} failed`, error);
      this.#store.dispatch({ type: 'notice', notice: `${name} failed — ${describeError(error)}` });
      return { ok: false, error };
    }
  }

  /** call()/accept() resolved: the SDK holds local media now, so the local view can start. */
  #mediaAcquired(): void {
    if (this.#store.state.status === 'idle') return;
    this.#localMedia = true;
    this.#syncViews(this.#store.state);
    this.#render(this.#store.state);
  }

  async #busy<T>(run: () => Promise<T>): Promise<T> {
    this.#pending += 1;
    this.#render(this.#store.state);
    try {
      return await run();
    } finally {
      this.#pending -= 1;
      this.#render(this.#store.state);
    }
  }

  #validUserID(input: HTMLInputElement, userID: string): boolean {
    const parsed = parseUserID(userID);
    input.setAttribute('aria-invalid', String(!parsed.ok));
    if (!parsed.ok) {
      this.#store.dispatch({ type: 'notice', notice: parsed.message });
      input.focus();
    }
    return parsed.ok;
  }

  /**
   * Starts or stops the SDK's local and remote views so they match the state: video shown only
   * in a video call, the local one while the camera is on, the remote one once the peer joined.
   */
  #syncViews(state: DemoState): void {
    const sdk = this.#sdk;
    if (!sdk) return;
    const video = state.callType === VIDEO;
    const me = state.userID;
    const wantLocal =
      me && this.#localMedia && video && !state.cameraOff && state.status !== 'idle' ? me : null;
    const wantRemote =
      video && state.status === 'in call' && state.remote?.joined ? state.remote.userID : null;
    if (state.status === 'idle') this.#localMedia = false;

    if (this.#localShown && this.#localShown !== wantLocal) {
      const userID = this.#localShown;
      this.#localShown = null;
      void this.#api('stopLocalView()', () => sdk.stopLocalView({ userID }), { userID }, true);
    }
    if (wantLocal && this.#localShown !== wantLocal) {
      this.#localShown = wantLocal;
      void this.#api(
        'startLocalView()',
        () => sdk.startLocalView({ userID: wantLocal, videoViewDomID: 'local-view' }),
        { userID: wantLocal, videoViewDomID: 'local-view' },
      );
    }
    if (this.#remoteShown && this.#remoteShown !== wantRemote) {
      const userID = this.#remoteShown;
      this.#remoteShown = null;
      void this.#api('stopRemoteView()', () => sdk.stopRemoteView({ userID }), { userID }, true);
    }
    if (wantRemote && this.#remoteShown !== wantRemote) {
      this.#remoteShown = wantRemote;
      void this.#api(
        'startRemoteView()',
        () => sdk.startRemoteView({ userID: wantRemote, videoViewDomID: 'remote-view' }),
        { userID: wantRemote, videoViewDomID: 'remote-view' },
      );
    }
  }

  /**
   * Keeps keyboard focus on something visible when panels swap: Accept when a call rings, Hang up
   * once connected, the callee field when the call is over (if focus was left on a hidden panel).
   */
  #moveFocus(state: DemoState, prev: DemoState): void {
    if (state.status === prev.status) return;
    const el = this.#el;
    const active = document.activeElement;
    const stranded =
      !active || active === document.body || (active as HTMLElement).closest('[hidden]');
    if (state.status === 'ringing') el.accept.focus();
    else if (!stranded) return;
    else if (state.status === 'in call') el.hangup.focus();
    else if (state.status === 'dialing') el.cancel.focus();
    else if (state.session === 'ready') el.callee.focus();
  }

  #render(state: DemoState): void {
    const el = this.#el;
    const ready = state.session === 'ready';
    const busy = this.#pending > 0;
    const { status } = state;

    el.body.dataset.session = state.session;
    el.body.dataset.status = status;
    el.body.dataset.callType = state.callType === AUDIO ? 'audio' : 'video';
    el.session.textContent =
      state.session === 'ready'
        ? `ready · ${state.userID ?? ''}`
        : state.session === 'signing-in'
          ? 'signing in…'
          : 'signed out';
    el.session.dataset.state = state.session;
    el.logout.hidden = !ready;

    el.loginForm.hidden = ready;
    el.userID.disabled = state.session === 'signing-in';
    el.login.disabled = state.session === 'signing-in';

    el.status.value = status;
    el.status.textContent = status;
    el.status.dataset.status = status;
    const canDial = ready && status === 'idle' && !busy;
    el.callee.disabled = !ready || status !== 'idle';
    el.callVideo.disabled = !canDial;
    el.callAudio.disabled = !canDial;
    el.quality.disabled = status !== 'idle';

    el.incoming.hidden = status !== 'ringing' || !state.incoming;
    el.incomingCaller.textContent = state.incoming?.sponsor ?? '';
    el.incomingType.textContent = callTypeName(state.incoming?.callType ?? null);
    el.accept.disabled = busy;
    el.reject.disabled = busy;

    el.dialing.hidden = status !== 'dialing';
    el.dialingCallee.textContent = state.peer ?? '';
    el.dialingType.textContent = callTypeName(state.callType);

    el.inCall.hidden = status !== 'in call';
    el.inCallPeer.textContent = state.peer ?? '';
    el.mute.textContent = state.micMuted ? 'Unmute mic' : 'Mute mic';
    el.mute.setAttribute('aria-pressed', String(state.micMuted));
    el.camera.textContent = state.cameraOff ? 'Camera on' : 'Camera off';
    el.camera.setAttribute('aria-pressed', String(state.cameraOff));
    el.camera.disabled = busy || state.callType !== VIDEO;
    el.toAudio.disabled = busy || state.callType !== VIDEO;
    el.toVideo.disabled = busy || state.callType !== AUDIO;
    el.mute.disabled = busy;
    el.hangup.disabled = busy;

    el.cameraSelect.disabled = !ready;
    el.micSelect.disabled = !ready;
    el.refreshDevices.disabled = !ready;

    const remote = state.remote;
    el.remoteName.textContent = remote?.userID ?? state.peer ?? 'Remote';
    el.remoteMuted.hidden = !remote || remote.audio;
    el.remoteCameraOff.hidden = !remote || remote.video || state.callType !== VIDEO;
    el.remotePlaceholder.textContent =
      status === 'in call' && state.callType === AUDIO
        ? `Audio call with ${state.peer ?? ''}`
        : status === 'dialing'
          ? `Ringing ${state.peer ?? ''}…`
          : remote && !remote.video
            ? 'Camera off'
            : 'No one here yet';
    el.remoteTile.classList.toggle('tile-live', this.#remoteShown !== null && !!remote?.video);
    el.localTile.classList.toggle('tile-live', this.#localShown !== null);
    el.localPlaceholder.textContent = state.cameraOff ? 'Camera off' : 'Your camera';
    el.localName.textContent = state.userID ? `You (${state.userID})` : 'You';
    el.localMuted.hidden = !state.micMuted || status === 'idle';

    el.notice.textContent = state.notice ?? '';
  }
}

function fillDevices(select: HTMLSelectElement, devices: readonly DeviceInfo[], noun: string) {
  const current = select.value;
  const options = devices.map(
    (device, i) => new Option(device.label || `${noun} ${i + 1}`, device.deviceId),
  );
  select.replaceChildren(...(options.length ? options : [new Option(`No ${noun} found`, '')]));
  if (devices.some((d) => d.deviceId === current)) select.value = current;
}

new DemoApp(findElements());
