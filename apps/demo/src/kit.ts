/**
 * The kit page: what an app using TUICallKit writes. The kit comes from the server as a classic
 * script (`/sdk/callkit.js`, global `TUICallKit`); this page logs in with a dev userSig, calls
 * `TUICallKitServer.init`, offers call buttons, and shows every callback of the `<tui-call-kit>`
 * element in a visible log. All call UI and logic are the kit's: nothing here renders a call.
 */
import type { CallMediaType, Language, STATUS } from '../../../packages/callkit/src/core/types.js';
import { describeError, fetchDevUserSig } from './dev-server.js';
import { byId } from './dom.js';
import { parseTimeout, parseUserID, parseUserIDList, type Parsed } from './kit-form.js';
import { formatPayload, formatTime } from './log.js';

/** The part of `TUICallKitServer` this page uses (TUICallKit web's API). */
interface KitServer {
  init(params: { userID: string; userSig: string; SDKAppID: number }): Promise<void>;
  call(params: { userID: string; type: CallMediaType; timeout?: number }): Promise<void>;
  groupCall(params: {
    userIDList: string[];
    type: CallMediaType;
    groupID: string;
    timeout?: number;
  }): Promise<void>;
  joinInGroupCall(params: { type: CallMediaType; groupID: string }): Promise<void>;
  setLanguage(language: Language): void;
  destroyed(): Promise<void>;
}

/** The global the script-tag bundle defines. */
interface KitGlobal {
  TUICallKitServer: KitServer;
  STATUS: typeof STATUS;
  CallMediaType: { AUDIO: 1; VIDEO: 2 };
}

/** `<tui-call-kit>`'s properties (TUICallKit's component props). */
interface KitElement extends HTMLElement {
  beforeCalling?: (type: unknown, error?: unknown) => void;
  afterCalling?: () => void;
  onMinimized?: (oldStatus: unknown, newStatus: unknown) => void;
  kickedOut?: () => void;
  statusChanged?: (args: { oldStatus: string; newStatus: string }) => void;
  allowedMinimized?: boolean;
  allowedFullScreen?: boolean;
}

declare global {
  interface Window {
    TUICallKit?: KitGlobal;
  }
}

type Session = 'signed-out' | 'signing-in' | 'ready';
type LineKind = 'callback' | 'action' | 'error';

const LANGUAGES: readonly Language[] = ['en', 'zh-cn', 'ja_JP'];
const STORAGE_KEY = 'ringline-kit-demo.userID';

const el = {
  body: document.body,
  session: byId('kit-session', HTMLElement),
  logout: byId('kit-logout', HTMLButtonElement),
  loginForm: byId('kit-login-form', HTMLFormElement),
  userID: byId('kit-userID', HTMLInputElement),
  language: byId('kit-language', HTMLSelectElement),
  login: byId('kit-login', HTMLButtonElement),
  callForm: byId('kit-call-form', HTMLFormElement),
  callee: byId('kit-callee', HTMLInputElement),
  timeout: byId('kit-timeout', HTMLInputElement),
  callVideo: byId('kit-call-video', HTMLButtonElement),
  callAudio: byId('kit-call-audio', HTMLButtonElement),
  groupForm: byId('kit-group-form', HTMLFormElement),
  groupID: byId('kit-group-id', HTMLInputElement),
  groupUsers: byId('kit-group-users', HTMLInputElement),
  groupVideo: byId('kit-group-video', HTMLButtonElement),
  groupAudio: byId('kit-group-audio', HTMLButtonElement),
  groupJoin: byId('kit-group-join', HTMLButtonElement),
  notice: byId('kit-notice', HTMLElement),
  log: byId('kit-log', HTMLOListElement),
  clearLog: byId('kit-clear-log', HTMLButtonElement),
  kit: byId('kit', HTMLElement) as KitElement,
};

/** Appends one timestamped line; `data-name` and `data-args` (JSON) let tests read it exactly. */
function logLine(kind: LineKind, name: string, args: readonly unknown[] = []): void {
  const li = document.createElement('li');
  li.className = `log-entry log-entry--${kind === 'callback' ? 'event' : kind}`;
  li.dataset.kind = kind;
  li.dataset.name = name;
  li.dataset.args = formatPayload(args) || '[]';
  const time = document.createElement('time');
  time.textContent = formatTime(new Date());
  const label = document.createElement('span');
  label.className = 'log-name';
  label.textContent = name;
  li.append(time, label);
  if (args.length > 0) {
    const payload = document.createElement('span');
    payload.className = 'log-payload';
    payload.textContent = args.length === 1 ? formatPayload(args[0]) : formatPayload(args);
    li.append(payload);
  }
  el.log.append(li);
  // Follow the newest line unless the reader scrolled up to read an older one.
  const nearEnd = el.log.scrollHeight - el.log.scrollTop - el.log.clientHeight < 80;
  if (nearEnd) el.log.scrollTop = el.log.scrollHeight;
}

function notify(message: string): void {
  el.notice.textContent = message;
}

class KitPage {
  readonly #kit: KitGlobal;
  #session: Session = 'signed-out';
  #userID: string | null = null;
  /** True between a resolved init() and destroyed()/kickedOut. */
  #initialized = false;

  constructor(kit: KitGlobal) {
    this.#kit = kit;
    this.#wireElement();
    this.#bind();
    el.userID.value = localStorage.getItem(STORAGE_KEY) ?? '';
    this.#render();
    (el.userID.value ? el.login : el.userID).focus();
  }

  get #server(): KitServer {
    return this.#kit.TUICallKitServer;
  }

  /** The component's callbacks and options, as an app binds them to TUICallKit. */
  #wireElement(): void {
    const kit = el.kit;
    kit.beforeCalling = (type, error) =>
      logLine('callback', 'beforeCalling', error === undefined ? [type] : [type, error]);
    kit.afterCalling = () => logLine('callback', 'afterCalling');
    kit.onMinimized = (oldStatus, newStatus) =>
      logLine('callback', 'onMinimized', [oldStatus, newStatus]);
    kit.kickedOut = () => {
      logLine('callback', 'kickedOut');
      this.#initialized = false;
      this.#session = 'signed-out';
      notify('You were signed out: this user logged in elsewhere.');
      this.#render();
    };
    kit.statusChanged = ({ oldStatus, newStatus }) => {
      logLine('callback', 'statusChanged', [{ oldStatus, newStatus }]);
      el.body.dataset.kitStatus = newStatus;
    };
    kit.allowedMinimized = true;
    kit.allowedFullScreen = true;
  }

  #bind(): void {
    el.loginForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.login(el.userID.value);
    });
    el.logout.addEventListener('click', () => void this.logout());
    el.language.addEventListener('change', () => this.#applyLanguage());
    el.callForm.addEventListener('submit', (event) => event.preventDefault());
    el.groupForm.addEventListener('submit', (event) => event.preventDefault());
    const { AUDIO, VIDEO } = this.#kit.CallMediaType;
    el.callVideo.addEventListener('click', () => void this.call(VIDEO));
    el.callAudio.addEventListener('click', () => void this.call(AUDIO));
    el.groupVideo.addEventListener('click', () => void this.groupCall(VIDEO));
    el.groupAudio.addEventListener('click', () => void this.groupCall(AUDIO));
    el.groupJoin.addEventListener('click', () => void this.joinGroup());
    el.clearLog.addEventListener('click', () => el.log.replaceChildren());
    // Leaving the page ends the session now rather than after the server's resume window.
    window.addEventListener('pagehide', () => {
      if (this.#initialized) void this.#server.destroyed().catch(() => undefined);
    });
  }

  async login(raw: string): Promise<void> {
    const parsed = parseUserID(raw);
    if (!this.#check(el.userID, parsed) || this.#session === 'signing-in') return;
    const userID = parsed.value;
    localStorage.setItem(STORAGE_KEY, userID);
    this.#session = 'signing-in';
    this.#render();
    try {
      if (this.#initialized) {
        this.#initialized = false;
        await this.#run('destroyed()', () => this.#server.destroyed());
      }
      const sig = await fetchDevUserSig(userID);
      const params = { SDKAppID: sig.sdkAppID, userID: sig.userID, userSig: sig.userSig };
      logLine('action', 'init()', [{ userID, SDKAppID: params.SDKAppID }]);
      await this.#server.init(params);
      this.#initialized = true;
      this.#userID = userID;
      this.#session = 'ready';
      this.#applyLanguage();
      notify('');
    } catch (error) {
      logLine('error', 'init() failed', [error]);
      this.#session = 'signed-out';
      notify(`Login failed — ${describeError(error)}`);
    }
    this.#render();
    if (this.#session === 'ready') el.callee.focus();
  }

  async logout(): Promise<void> {
    if (this.#initialized) {
      this.#initialized = false;
      await this.#run('destroyed()', () => this.#server.destroyed());
    }
    this.#session = 'signed-out';
    this.#userID = null;
    notify('Logged out');
    this.#render();
    el.userID.focus();
  }

  async call(type: CallMediaType): Promise<void> {
    const callee = parseUserID(el.callee.value);
    const ring = parseTimeout(el.timeout.value);
    if (!this.#check(el.callee, callee) || !this.#check(el.timeout, ring)) return;
    const [userID, timeout] = [callee.value, ring.value];
    const params = { userID, type, ...(timeout === undefined ? {} : { timeout }) };
    await this.#run('call()', () => this.#server.call(params), params);
  }

  async groupCall(type: CallMediaType): Promise<void> {
    const groupID = this.#groupID();
    if (groupID === undefined) return;
    const list = parseUserIDList(el.groupUsers.value, this.#userID ?? undefined);
    const ring = parseTimeout(el.timeout.value);
    if (!this.#check(el.groupUsers, list) || !this.#check(el.timeout, ring)) return;
    const timeout = ring.value;
    const params = {
      userIDList: list.value,
      type,
      groupID,
      ...(timeout === undefined ? {} : { timeout }),
    };
    await this.#run('groupCall()', () => this.#server.groupCall(params), params);
  }

  async joinGroup(): Promise<void> {
    const groupID = this.#groupID();
    if (groupID === undefined) return;
    const params = { type: this.#kit.CallMediaType.VIDEO, groupID };
    await this.#run('joinInGroupCall()', () => this.#server.joinInGroupCall(params), params);
  }

  #groupID(): string | undefined {
    const groupID = el.groupID.value.trim();
    const ok = groupID.length > 0 && groupID.length <= 64;
    el.groupID.setAttribute('aria-invalid', String(!ok));
    if (!ok) {
      notify('Enter the group ID (up to 64 characters).');
      el.groupID.focus();
      return undefined;
    }
    return groupID;
  }

  #applyLanguage(): void {
    const language = LANGUAGES.find((l) => l === el.language.value) ?? 'en';
    if (!this.#initialized) return;
    try {
      this.#server.setLanguage(language);
      logLine('action', 'setLanguage()', [language]);
    } catch (error) {
      logLine('error', 'setLanguage() failed', [error]);
    }
  }

  /**
   * Runs one kit API call, logging it and any failure with its code, so no click can end in an
   * unhandled rejection. The kit itself reports the call's course through its callbacks.
   */
  async #run(name: string, run: () => Promise<void>, args?: unknown): Promise<boolean> {
    logLine('action', name, args === undefined ? [] : [args]);
    try {
      await run();
      return true;
    } catch (error) {
      logLine('error', `${name} failed`, [error]);
      notify(`${name} failed — ${describeError(error)}`);
      return false;
    }
  }

  /** Flags the field and says why when its input is refused. */
  #check<T>(input: HTMLInputElement, parsed: Parsed<T>): parsed is { ok: true; value: T } {
    input.setAttribute('aria-invalid', String(!parsed.ok));
    if (parsed.ok) return true;
    notify(parsed.message);
    input.focus();
    return false;
  }

  #render(): void {
    const session = this.#session;
    const ready = session === 'ready';
    el.body.dataset.session = session;
    el.session.textContent =
      session === 'ready'
        ? `ready · ${this.#userID ?? ''}`
        : session === 'signing-in'
          ? 'signing in…'
          : 'signed out';
    el.session.dataset.state = session;
    el.logout.hidden = !ready;
    el.loginForm.hidden = ready;
    el.userID.disabled = session === 'signing-in';
    el.login.disabled = session === 'signing-in';
    el.callForm.hidden = !ready;
    el.groupForm.hidden = !ready;
  }
}

const kit = window.TUICallKit;
if (!kit) {
  notify('The call kit did not load: /sdk/callkit.js is missing (build @ringline/callkit).');
  el.loginForm.hidden = true;
} else {
  new KitPage(kit);
}
