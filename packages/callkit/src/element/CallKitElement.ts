/**
 * `<tui-call-kit>`: renders the core's `CallKitState` and forwards clicks to the core's actions.
 * It holds only view state (float window position, invite form, timer tick); every call decision
 * is the core's.
 */
import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { styleMap } from 'lit/directives/style-map.js';
import {
  CallMediaType,
  FeatureButton,
  STATUS,
  type CallKitState,
  type Participant,
} from '../core/types.js';
import { participant } from '../core/initialState.js';
import { STRINGS, formatDuration, toastText, translate, type Strings } from '../i18n/index.js';
import { icons } from './icons.js';
import { NETWORK_BARS, networkLook } from './network.js';
import type {
  CallKitCallbacks,
  CallKitComponentOptions,
  ViewAttacher,
  ViewServer,
} from './server.js';
import { CALLBACK_PROPS, OPTION_DEFAULTS, OPTION_PROPS } from './props.js';
import { styles } from './styles.js';
import { uniqueToasts } from './toasts.js';

/** Max tiles in the group grid. */
const MAX_TILES = 16;
/** Volume above which a tile shows the speaking ring. */
const SPEAKING_LEVEL = 0.1;
const FLOAT_SIZE = 132;
const FLOAT_STEP = 16;
/**
 * Widths at which the call covers the whole screen, as TUICallKit's H5 layout does on phones
 * (a phone held upright, or a short landscape phone). Kept in step with the `@media` in styles.ts.
 */
export const PHONE_QUERY = '(max-width: 600px), (max-height: 500px) and (pointer: coarse)';

// Boolean attributes that default to true need "false" to mean false.
const boolAttr = {
  fromAttribute: (value: string | null) => value !== null && value !== 'false',
  toAttribute: (value: boolean) => (value ? '' : 'false'),
};

let defaultServer: ViewServer | undefined;

/**
 * The elements rendering each core, in connection order. Only the first shows the core's toasts,
 * so a page with two kits (or a kit mounted twice by a framework) never shows a toast twice.
 */
const viewers = new WeakMap<ViewServer, Set<TUICallKitElement>>();

/** Sets the core that elements render when their `server` property is not set. */
export function setDefaultServer(server: ViewServer): void {
  defaultServer = server;
}

export class TUICallKitElement extends LitElement {
  /** The element's shadow-DOM styles (Lit's `styles`). */
  static override styles = styles;

  static override properties = {
    beforeCalling: { attribute: false },
    afterCalling: { attribute: false },
    onMinimized: { attribute: false },
    kickedOut: { attribute: false },
    statusChanged: { attribute: false },
    allowedMinimized: { attribute: 'allowed-minimized', converter: boolAttr },
    allowedFullScreen: { attribute: 'allowed-full-screen', converter: boolAttr },
    videoDisplayMode: { attribute: 'video-display-mode' },
    videoResolution: { attribute: 'video-resolution' },
    server: { attribute: false },
  };

  /** Before a call starts, with its media type (and the error when it could not start). */
  declare beforeCalling: CallKitCallbacks['beforeCalling'];
  /** After a call ended. */
  declare afterCalling: CallKitCallbacks['afterCalling'];
  /** Minimized (`true`) or restored (`false`). */
  declare onMinimized: CallKitCallbacks['onMinimized'];
  /** Logged in elsewhere. */
  declare kickedOut: CallKitCallbacks['kickedOut'];
  /** Every STATUS change, `{oldStatus, newStatus}`. */
  declare statusChanged: CallKitCallbacks['statusChanged'];
  /** Show the minimize button (default false). */
  declare allowedMinimized: boolean;
  /** Show the full-screen button (default true). */
  declare allowedFullScreen: boolean;
  /** How videos fit their views (default 'cover'). */
  declare videoDisplayMode: NonNullable<CallKitComponentOptions['videoDisplayMode']>;
  /** Camera resolution for calls (default '480p'). */
  declare videoResolution: NonNullable<CallKitComponentOptions['videoResolution']>;
  /** The core to render; the shared `TUICallKitServer` unless set. */
  declare server: ViewServer | undefined;

  #active: ViewServer | undefined;
  #state: CallKitState | undefined;
  #unsubscribe: (() => void) | undefined;
  #attacher: ViewAttacher | undefined;
  /** Light-DOM video containers by key ('local' or a remote userID), slotted into the shadow DOM. */
  readonly #views = new Map<
    string,
    { el: HTMLElement; slot: string; observer: MutationObserver }
  >();
  #nextView = 0;
  #tick: ReturnType<typeof setInterval> | undefined;
  #inviteOpen = false;
  #floatPos: { x: number; y: number } | undefined;
  #drag: { id: number; dx: number; dy: number } | undefined;
  #wasFullScreen = false;
  #prevStatus: string | undefined;
  /** The videoDisplayMode the current videos were fitted to (new ones are fitted as they come). */
  #fittedMode: string | undefined;
  /** Whether the host currently shows the call panel (and so takes its box); see `#syncHost`. */
  #hostShown: boolean | undefined;
  /** The page's own inline `display` of the host, put back when a call shows. */
  #pageDisplay: [value: string, priority: string] = ['', ''];
  /**
   * A framework that rewrites the host's `style` attribute (Vue with a string `style`) may drop
   * the idle `display: contents`; this puts it back.
   */
  readonly #styleObserver =
    typeof MutationObserver === 'function'
      ? new MutationObserver(() => {
          if (this.#hostShown === false && this.style.getPropertyValue('display') !== 'contents') {
            this.#hostShown = undefined;
            this.#syncHost(this.#state);
          }
        })
      : undefined;
  /** Where the panel last was in the page: idle toasts show there (the host has no box then). */
  #lastPlace: { top: number; left: number; width: number } | undefined;

  constructor() {
    super();
    this.allowedMinimized = OPTION_DEFAULTS.allowedMinimized;
    this.allowedFullScreen = OPTION_DEFAULTS.allowedFullScreen;
    this.videoDisplayMode = OPTION_DEFAULTS.videoDisplayMode;
    this.videoResolution = OPTION_DEFAULTS.videoResolution;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#syncHost(this.#state);
    this.#styleObserver?.observe(this, { attributes: true, attributeFilter: ['style'] });
    this.#connect();
    document.addEventListener('fullscreenchange', this.#onFullScreenChange);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#styleObserver?.disconnect();
    document.removeEventListener('fullscreenchange', this.#onFullScreenChange);
    this.#disconnect();
  }

  #connect(): void {
    const server = this.server ?? defaultServer;
    if (!server || server === this.#active) return;
    this.#disconnect();
    this.#active = server;
    let elements = viewers.get(server);
    if (!elements) viewers.set(server, (elements = new Set()));
    elements.add(this);
    this.#state = server.store.state;
    this.#unsubscribe = server.store.subscribe((state) => {
      this.#state = state;
      this.requestUpdate();
    });
    this.#attacher = server.attachViews();
    this.#pushCallbacks();
    this.#pushOptions();
  }

  #disconnect(): void {
    const elements = this.#active && viewers.get(this.#active);
    if (elements?.delete(this)) {
      // The next element (if any) takes over the toasts.
      elements.values().next().value?.requestUpdate();
    }
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const key of [...this.#views.keys()]) this.#dropView(key);
    this.#attacher = undefined;
    this.#active = undefined;
    clearInterval(this.#tick);
    this.#tick = undefined;
  }

  #pushCallbacks(): void {
    const callbacks: CallKitCallbacks = {};
    for (const name of CALLBACK_PROPS) {
      // Call through the property so a later reassignment takes effect without re-registering.
      (callbacks as Record<string, unknown>)[name] = (...args: unknown[]) =>
        (this[name] as ((...a: unknown[]) => void) | undefined)?.(...args);
    }
    this.#active?.setCallbacks(callbacks);
  }

  #pushOptions(): void {
    this.#active?.setComponentOptions({
      allowedMinimized: this.allowedMinimized,
      allowedFullScreen: this.allowedFullScreen,
      videoDisplayMode: this.videoDisplayMode,
      videoResolution: this.videoResolution,
    });
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('server')) this.#connect();
    if (OPTION_PROPS.some((name) => changed.has(name))) this.#pushOptions();
    if (this.#state) this.#syncViews(this.#state);
  }

  protected override updated(): void {
    const state = this.#state;
    if (!state) return;
    if (this.getAttribute('status') !== state.status) this.setAttribute('status', state.status);
    this.#syncHost(state);
    if (this.#hostShown) {
      const rect = this.getBoundingClientRect();
      this.#lastPlace = { top: rect.top + scrollY, left: rect.left + scrollX, width: rect.width };
    }
    this.#anchorToasts(state);
    this.#syncTimer(state);
    this.#syncFullScreen(state);
    if (state.options.videoDisplayMode !== this.#fittedMode) {
      this.#fittedMode = state.options.videoDisplayMode;
      for (const { el } of this.#views.values()) this.#fit(el);
    }
    if (state.status === STATUS.BE_INVITED && this.#prevStatus !== STATUS.BE_INVITED) {
      // Keyboard and screen-reader users land on the prompt's first action.
      this.renderRoot.querySelector<HTMLElement>('[data-testid="callkit-accept"]')?.focus();
    }
    this.#prevStatus = state.status;
  }

  // ---- the host's box -------------------------------------------------------------------------

  /**
   * TUICallKit renders nothing while idle (or minimized to its floating window), so the page's
   * own CSS for the element (`width: 100%; height: 100%` in Tencent's demos) must not make it
   * cover the page and swallow clicks. The host gets `display: contents !important` inline, which
   * beats any stylesheet: no box, no hit-testing, while its fixed toasts and floating window
   * still show. The page's own inline `display` comes back when a call shows.
   */
  #syncHost(state: CallKitState | undefined): void {
    const shown = state !== undefined && state.status !== STATUS.IDLE && !state.minimized;
    if (shown === this.#hostShown) return;
    const style = this.style;
    if (!shown) {
      const current = style.getPropertyValue('display');
      if (current !== 'contents') {
        this.#pageDisplay = [current, style.getPropertyPriority('display')];
      }
      style.setProperty('display', 'contents', 'important');
    } else if (this.#pageDisplay[0]) {
      style.setProperty('display', ...this.#pageDisplay);
    } else {
      style.removeProperty('display');
    }
    this.#hostShown = shown;
  }

  /** Whether the panel covers the screen because the viewport is phone-sized. */
  #phone(): boolean {
    return typeof matchMedia === 'function' && matchMedia(PHONE_QUERY).matches;
  }

  // ---- video containers -----------------------------------------------------------------------

  /** Keys of the video views the current screen shows. */
  #wantedViews(state: CallKitState): string[] {
    if (state.status === STATUS.IDLE || state.status === STATUS.BE_INVITED) return [];
    if (state.mediaType !== CallMediaType.VIDEO) return [];
    return ['local', ...state.remotes.map((p) => 'remote:' + p.userID)];
  }

  #syncViews(state: CallKitState): void {
    const wanted = new Set(this.#wantedViews(state));
    for (const key of [...this.#views.keys()]) if (!wanted.has(key)) this.#dropView(key);
    for (const key of wanted) {
      if (this.#views.has(key)) continue;
      const el = document.createElement('div');
      const slot = `rl-view-${this.#nextView++}`;
      el.slot = slot;
      el.style.cssText = 'width:100%;height:100%;position:relative;';
      el.setAttribute('data-callkit-view', key);
      this.appendChild(el);
      // The SDK adds its <video> later; fit it as the component's videoDisplayMode says.
      const observer = new MutationObserver(() => this.#fit(el));
      observer.observe(el, { childList: true, subtree: true });
      this.#views.set(key, { el, slot, observer });
      if (key === 'local') this.#attacher?.local(el);
      else this.#attacher?.remote(key.slice('remote:'.length), el);
    }
  }

  #dropView(key: string): void {
    const view = this.#views.get(key);
    if (!view) return;
    this.#views.delete(key);
    view.observer.disconnect();
    if (key === 'local') this.#attacher?.local(null);
    else this.#attacher?.remote(key.slice('remote:'.length), null);
    view.el.remove();
  }

  #fit(el: HTMLElement): void {
    const mode = this.#state?.options.videoDisplayMode ?? this.videoDisplayMode;
    for (const video of el.querySelectorAll('video')) {
      if (video.style.objectFit !== mode) video.style.objectFit = mode;
      video.style.width = '100%';
      video.style.height = '100%';
    }
  }

  #slot(key: string): TemplateResult | typeof nothing {
    const view = this.#views.get(key);
    return view ? html`<slot name=${view.slot}></slot>` : nothing;
  }

  // ---- toasts ----------------------------------------------------------------------------------

  /**
   * Toasts leave the kit's box when it shows no panel (idle, minimized) or the panel covers the
   * screen (full screen, or a phone-sized viewport).
   */
  #toastsDetached(state: CallKitState): boolean {
    return !this.#hostShown || this.#coversScreen(state);
  }

  #coversScreen(state: CallKitState): boolean {
    return state.status !== STATUS.IDLE && !state.minimized && (state.fullScreen || this.#phone());
  }

  /**
   * Detached toasts are fixed at the kit's place on screen (the top edge and middle of where the
   * call was shown, or of the kit's container before any call), kept inside the viewport if that
   * place has scrolled away; over a full-screen call, at the top.
   */
  #anchorToasts(state: CallKitState): void {
    const toasts = this.renderRoot.querySelector<HTMLElement>('.toasts');
    if (!toasts) return;
    if (!this.#toastsDetached(state) || state.toasts.length === 0 || this.#coversScreen(state)) {
      toasts.style.removeProperty('--rl-anchor-top');
      toasts.style.removeProperty('--rl-anchor-x');
      return;
    }
    const last = this.#lastPlace;
    const rect = last
      ? { top: last.top - scrollY, left: last.left - scrollX, width: last.width }
      : (this.parentElement ?? this).getBoundingClientRect();
    const half = Math.min(window.innerWidth * 0.46, 210);
    const top = clamp(rect.top, 0, Math.max(0, window.innerHeight - 160));
    const x = clamp(rect.left + rect.width / 2, half, window.innerWidth - half);
    toasts.style.setProperty('--rl-anchor-top', `${Math.round(top)}px`);
    toasts.style.setProperty('--rl-anchor-x', `${Math.round(x)}px`);
  }

  // ---- timer, full screen ---------------------------------------------------------------------

  #syncTimer(state: CallKitState): void {
    const running = state.connectedAt !== undefined && state.status !== STATUS.IDLE;
    if (running && !this.#tick) this.#tick = setInterval(() => this.requestUpdate(), 1000);
    if (!running && this.#tick) {
      clearInterval(this.#tick);
      this.#tick = undefined;
    }
  }

  #syncFullScreen(state: CallKitState): void {
    const want = state.fullScreen && !state.minimized && state.status !== STATUS.IDLE;
    if (want && !this.#wasFullScreen && document.fullscreenElement !== this) {
      // The CSS `.full` class already covers the viewport if the browser refuses.
      this.requestFullscreen?.().catch(() => {});
    }
    if (!want && this.#wasFullScreen && document.fullscreenElement === this) {
      document.exitFullscreen().catch(() => {});
    }
    this.#wasFullScreen = want;
  }

  // Esc leaves browser full screen: tell the core so its state matches what the user sees.
  readonly #onFullScreenChange = (): void => {
    if (this.#state?.fullScreen && document.fullscreenElement !== this && this.#wasFullScreen) {
      this.#wasFullScreen = false;
      this.#act(() => this.#active?.setFullScreen(false));
    }
  };

  // ---- actions --------------------------------------------------------------------------------

  /** Runs a core action; failures become state (toasts) in the core, so here they are only logged. */
  #act(action: () => unknown): void {
    try {
      const result = action();
      if (result instanceof Promise) result.catch((error) => console.warn('[callkit]', error));
    } catch (error) {
      console.warn('[callkit]', error);
    }
  }

  #openInvite(): void {
    this.#inviteOpen = true;
    this.requestUpdate();
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<HTMLInputElement>('.invite input')?.focus(),
    );
  }

  #closeInvite(): void {
    this.#inviteOpen = false;
    this.requestUpdate();
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<HTMLElement>('[data-testid="callkit-invite"]')?.focus(),
    );
  }

  #submitInvite(event: SubmitEvent): void {
    event.preventDefault();
    const input = this.renderRoot.querySelector<HTMLInputElement>('.invite input');
    const userIDList = (input?.value ?? '')
      .split(/[\s,，、]+/)
      .map((id) => id.trim())
      .filter(Boolean);
    if (userIDList.length > 0) this.#act(() => this.#active?.inviteUser({ userIDList }));
    this.#closeInvite();
  }

  // Keeps Tab inside the incoming-call prompt (a modal dialog).
  #trapFocus(event: KeyboardEvent): void {
    if (event.key !== 'Tab') return;
    const buttons = [
      ...(event.currentTarget as HTMLElement).querySelectorAll<HTMLElement>('button'),
    ];
    const first = buttons[0];
    const last = buttons[buttons.length - 1];
    if (!first || !last) return;
    const current = this.renderRoot instanceof ShadowRoot ? this.renderRoot.activeElement : null;
    if (event.shiftKey && (current === first || !buttons.includes(current as HTMLElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && current === last) {
      event.preventDefault();
      first.focus();
    }
  }

  // ---- floating window ------------------------------------------------------------------------

  #floatPosition(): { x: number; y: number } {
    if (!this.#floatPos) {
      this.#floatPos = {
        x: Math.max(0, window.innerWidth - FLOAT_SIZE - 16),
        y: Math.max(0, window.innerHeight - FLOAT_SIZE - 56),
      };
    }
    return this.#floatPos;
  }

  #moveFloat(x: number, y: number): void {
    const float = this.renderRoot.querySelector<HTMLElement>('[data-testid="callkit-float"]');
    const width = float?.offsetWidth ?? FLOAT_SIZE;
    const height = float?.offsetHeight ?? FLOAT_SIZE;
    this.#floatPos = {
      x: Math.min(Math.max(0, x), Math.max(0, window.innerWidth - width)),
      y: Math.min(Math.max(0, y), Math.max(0, window.innerHeight - height)),
    };
    this.requestUpdate();
  }

  #onFloatPointerDown(event: PointerEvent): void {
    if ((event.target as HTMLElement).closest('button')) return;
    const pos = this.#floatPosition();
    this.#drag = { id: event.pointerId, dx: event.clientX - pos.x, dy: event.clientY - pos.y };
    (event.currentTarget as HTMLElement).setPointerCapture(event.pointerId);
  }

  #onFloatPointerMove(event: PointerEvent): void {
    if (this.#drag?.id !== event.pointerId) return;
    this.#moveFloat(event.clientX - this.#drag.dx, event.clientY - this.#drag.dy);
  }

  #onFloatPointerUp(event: PointerEvent): void {
    if (this.#drag?.id !== event.pointerId) return;
    this.#drag = undefined;
    (event.currentTarget as HTMLElement).releasePointerCapture(event.pointerId);
  }

  #onFloatKey(event: KeyboardEvent): void {
    const step = event.shiftKey ? FLOAT_STEP * 4 : FLOAT_STEP;
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    const move = moves[event.key];
    if (!move || event.target !== event.currentTarget) return;
    event.preventDefault();
    const pos = this.#floatPosition();
    this.#moveFloat(pos.x + move[0], pos.y + move[1]);
  }

  // ---- rendering ------------------------------------------------------------------------------

  protected override render(): unknown {
    const state = this.#state;
    if (!state) return nothing;
    const s = STRINGS[state.language] ?? STRINGS.en;
    const active = state.status !== STATUS.IDLE;
    return html`
      <div class="sr-only" aria-live="polite" aria-atomic="true">${this.#announce(state, s)}</div>
      ${active && state.minimized ? this.#renderFloat(state, s) : nothing}
      ${active && !state.minimized ? this.#renderPanel(state, s) : nothing}
      ${this.#renderToasts(state)}
    `;
  }

  /** The text screen readers hear when the screen changes. */
  #announce(state: CallKitState, s: Strings): string {
    const peer = this.#peerName(state);
    switch (state.status) {
      case STATUS.BE_INVITED:
        return `${peer}: ${state.mediaType === CallMediaType.VIDEO ? s.incomingVideo : s.incomingAudio}`;
      case STATUS.DIALING_C2C:
        return `${s.calling} ${peer}`;
      case STATUS.DIALING_GROUP:
        return `${s.groupCall}: ${s.calling}`;
      case STATUS.IDLE:
        return '';
      default:
        return s.connected;
    }
  }

  #renderPanel(state: CallKitState, s: Strings): TemplateResult {
    const invited = state.status === STATUS.BE_INVITED;
    const full = state.fullScreen;
    return html`
      <div
        class="panel ${full ? 'full' : ''}"
        role=${invited ? 'alertdialog' : 'region'}
        aria-modal=${invited ? 'true' : nothing}
        aria-label=${invited ? this.#announce(state, s) : s.callWindow}
        @keydown=${invited ? (e: KeyboardEvent) => this.#trapFocus(e) : nothing}
      >
        ${this.#renderTopbar(state, s)}
        <div class="stage">${this.#renderStage(state, s)}</div>
        ${this.#renderControls(state, s)} ${this.#inviteOpen ? this.#renderInvite(s) : nothing}
      </div>
    `;
  }

  #renderTopbar(state: CallKitState, s: Strings): TemplateResult {
    const calling = state.connectedAt !== undefined;
    const o = state.options;
    return html`
      <div class="topbar">
        ${calling ? this.#renderTimer(state, s) : nothing}
        ${calling ? this.#renderNetwork(state.self, s, true) : nothing}
        <span class="spacer"></span>
        ${
          o.allowedMinimized && o.floatWindow
            ? html`<button
                class="icon-btn"
                data-testid="callkit-minimize"
                aria-label=${s.minimize}
                title=${s.minimize}
                @click=${() => this.#act(() => this.#active?.setMinimized(true))}
              >
                ${icons.minimize}
              </button>`
            : nothing
        }
        ${
          o.allowedFullScreen && state.status !== STATUS.BE_INVITED
            ? html`<button
                class="icon-btn"
                data-testid="callkit-fullscreen"
                aria-label=${state.fullScreen ? s.exitFullScreen : s.fullScreen}
                title=${state.fullScreen ? s.exitFullScreen : s.fullScreen}
                aria-pressed=${state.fullScreen ? 'true' : 'false'}
                @click=${() => this.#act(() => this.#active?.setFullScreen(!state.fullScreen))}
              >
                ${state.fullScreen ? icons.exitFullScreen : icons.fullScreen}
              </button>`
            : nothing
        }
      </div>
    `;
  }

  #renderTimer(state: CallKitState, s: Strings): TemplateResult {
    const elapsed = Date.now() - (state.connectedAt ?? Date.now());
    return html`<span
      class="timer"
      role="timer"
      aria-label=${s.callDuration}
      data-testid="callkit-timer"
      >${formatDuration(elapsed)}</span
    >`;
  }

  /** Network bars for `person` (TRTC's levels: 0 unknown, 1 excellent … 5 very bad, 6 down). */
  #renderNetwork(person: Participant, s: Strings, isSelf: boolean): TemplateResult {
    const { level, bars, tone } = networkLook(person.networkQuality);
    const who = isSelf ? s.you : nameOf(person);
    const label = `${s.network} (${who}): ${s.networkLevels[level] ?? ''}`;
    return html`<span
      class="net ${tone}"
      role="img"
      aria-label=${label}
      title=${label}
      data-testid="callkit-network"
      data-user-id=${person.userID}
      data-quality=${level}
    >
      ${Array.from(
        { length: NETWORK_BARS },
        (_, i) =>
          html`<span
            class=${i < bars ? 'on' : ''}
            style="height:${((i + 1) * 100) / NETWORK_BARS}%"
          ></span>`,
      )}
    </span>`;
  }

  #renderStage(state: CallKitState, s: Strings): TemplateResult {
    switch (state.status) {
      case STATUS.BE_INVITED:
        return this.#renderPerson(
          s,
          this.#peerParticipant(state),
          this.#inviteText(state, s),
          true,
        );
      case STATUS.DIALING_C2C:
        return html`
          ${state.mediaType === CallMediaType.VIDEO ? this.#renderView(state, s, 'local', 'large') : nothing}
          ${this.#renderPerson(s, this.#peerParticipant(state), s.waiting, true)}
        `;
      case STATUS.CALLING_C2C_VIDEO:
        return this.#renderOneToOne(state, s);
      case STATUS.CALLING_C2C_AUDIO: {
        const peer = this.#peerParticipant(state);
        return this.#renderPerson(s, peer, s.connected, false, true);
      }
      default:
        return this.#renderGrid(state, s);
    }
  }

  #inviteText(state: CallKitState, s: Strings): string {
    if (state.isGroup) return s.invitesGroup;
    return state.mediaType === CallMediaType.VIDEO ? s.invitesVideo : s.invitesAudio;
  }

  /** A person card; `inCall` adds their speaking ring and network bars. */
  #renderPerson(
    s: Strings,
    person: Participant,
    sub: string,
    pulse: boolean,
    inCall = false,
  ): TemplateResult {
    const speaking = inCall && isSpeaking(person);
    return html`<div
      class="person ${speaking ? 'speaking' : ''}"
      data-testid="callkit-person"
      data-user-id=${person.userID}
      data-speaking=${speaking ? 'true' : 'false'}
    >
      ${this.#avatar(person, false, pulse)}
      <div class="name">${nameOf(person)}</div>
      <div class="sub">${sub}</div>
      ${inCall ? this.#renderNetwork(person, s, false) : nothing}
    </div>`;
  }

  #renderOneToOne(state: CallKitState, s: Strings): TemplateResult {
    const remote = this.#peerParticipant(state);
    const remoteKey = 'remote:' + remote.userID;
    const [large, small] = state.layout === 'remote' ? [remoteKey, 'local'] : ['local', remoteKey];
    return html`${this.#renderView(state, s, large, 'large')}
    ${this.#renderView(state, s, small, 'small')}`;
  }

  /** A video view: the slotted SDK video, or the person's avatar on a background when off. */
  #renderView(
    state: CallKitState,
    s: Strings,
    key: string,
    size: 'large' | 'small',
  ): TemplateResult {
    const isLocal = key === 'local';
    const person = isLocal
      ? state.self
      : (state.remotes.find((p) => 'remote:' + p.userID === key) ?? this.#peerParticipant(state));
    // Own keys only: a user called `constructor` or `__proto__` must not read Object.prototype.
    const backgrounds = state.options.remoteBackgrounds;
    const own = (key: string) => (Object.hasOwn(backgrounds, key) ? backgrounds[key] : undefined);
    const background = isLocal ? state.options.localBackground : (own(person.userID) ?? own('*'));
    const off = !person.video
      ? html`<div
          class="off"
          style=${styleMap(background ? { background: `center/cover url("${background}")` } : {})}
        >
          ${this.#avatar(person, size === 'small', false)}
        </div>`
      : nothing;
    const name = isLocal ? s.you : nameOf(person);
    const speaking = isSpeaking(person);
    // The remote's name and network bars on their view (the own bars are in the top bar).
    const badge = isLocal
      ? nothing
      : html`<span class="badge">
          <span class="nm">${name}</span>${this.#renderNetwork(person, s, false)}
        </span>`;
    if (size === 'small') {
      return html`<button
        class="view small ${speaking ? 'speaking' : ''}"
        aria-label="${s.swapViews} (${name}${speaking ? `, ${s.speaking}` : ''})"
        data-testid="callkit-small-view"
        data-user-id=${person.userID}
        data-speaking=${speaking ? 'true' : 'false'}
        @click=${() => this.#act(() => this.#active?.swapLayout())}
      >
        ${this.#slot(key)} ${off} ${badge}
      </button>`;
    }
    return html`<div
      class="view large ${speaking ? 'speaking' : ''}"
      role="img"
      aria-label=${speaking ? `${name}, ${s.speaking}` : name}
      data-testid="callkit-large-view"
      data-user-id=${person.userID}
      data-speaking=${speaking ? 'true' : 'false'}
    >
      ${this.#slot(key)} ${off} ${badge}
    </div>`;
  }

  #renderGrid(state: CallKitState, s: Strings): TemplateResult {
    const people = [state.self, ...state.remotes].slice(0, MAX_TILES);
    const cols = people.length <= 1 ? 1 : people.length <= 4 ? 2 : people.length <= 9 ? 3 : 4;
    const video = state.mediaType === CallMediaType.VIDEO;
    return html`<div class="grid" style="--cols:${cols}" role="list" aria-label=${s.groupCall}>
      ${people.map((person, index) => {
        const isSelf = index === 0;
        const key = isSelf ? 'local' : 'remote:' + person.userID;
        const speaking = isSpeaking(person);
        const name = isSelf ? `${nameOf(person)} (${s.you})` : nameOf(person);
        // A ringing invitee has no media yet: TUICallKit shows them waiting (avatar and a loading
        // indicator), not as muted or with their camera off.
        const ringing = person.ringing;
        const micOff = !ringing && !person.audio;
        const cameraOff = !ringing && video && !person.video;
        const states = [
          ringing ? s.ringing : '',
          micOff ? s.micMuted : '',
          cameraOff ? s.cameraIsOff : '',
          speaking ? s.speaking : '',
        ].filter(Boolean);
        return html`<div
          class="tile ${speaking ? 'speaking' : ''} ${person.ringing ? 'ringing' : ''}"
          role="listitem"
          aria-label=${[name, ...states].join(', ')}
          data-testid="callkit-tile"
          data-user-id=${person.userID}
          data-speaking=${speaking ? 'true' : 'false'}
          data-ringing=${person.ringing ? 'true' : 'false'}
        >
          ${video && person.video && !ringing ? html`<div class="video">${this.#slot(key)}</div>` : nothing}
          ${
            !video || !person.video || ringing
              ? html`<div class="center">
                  ${this.#avatar(person, true, false)}
                  ${
                    ringing
                      ? html`<span
                          class="waiting"
                          data-testid="callkit-waiting"
                          role="img"
                          aria-label=${s.ringing}
                          ><i></i><i></i><i></i
                        ></span>`
                      : nothing
                  }
                </div>`
              : nothing
          }
          <div class="label">
            <span class="nm">${name}</span>
            ${micOff ? html`<span class="state" title=${s.micMuted}>${icons.micOff}</span>` : nothing}
            ${
              cameraOff
                ? html`<span class="state" title=${s.cameraIsOff}>${icons.cameraOff}</span>`
                : nothing
            }
            ${ringing ? nothing : this.#renderNetwork(person, s, isSelf)}
          </div>
        </div>`;
      })}
    </div>`;
  }

  #renderControls(state: CallKitState, s: Strings): TemplateResult {
    if (state.status === STATUS.BE_INVITED) {
      return html`<div class="controls">
        ${this.#control('callkit-reject', s.reject, icons.hangup, () => this.#active?.reject(), 'danger big')}
        ${this.#control('callkit-accept', s.accept, icons.phone, () => this.#active?.accept(), 'ok big')}
      </div>`;
    }
    const hidden = new Set(state.options.hiddenButtons);
    const video = state.mediaType === CallMediaType.VIDEO;
    const connected = state.connectedAt !== undefined;
    const dialing = state.status === STATUS.DIALING_C2C || state.status === STATUS.DIALING_GROUP;
    const self = state.self;
    return html`<div class="controls">
      ${
        hidden.has(FeatureButton.Microphone)
          ? nothing
          : this.#control(
              'callkit-mic',
              self.audio ? s.micOn : s.micOff,
              self.audio ? icons.mic : icons.micOff,
              () => this.#active?.toggleMic(),
              // The ring around the mic tells the user they are heard.
              self.audio ? (isSpeaking(self) ? 'speaking' : '') : 'off',
              { speaking: isSpeaking(self) },
            )
      }
      ${
        video && !hidden.has(FeatureButton.Camera)
          ? this.#control(
              'callkit-camera',
              self.video ? s.cameraOn : s.cameraOff,
              self.video ? icons.camera : icons.cameraOff,
              () => this.#active?.toggleCamera(),
              self.video ? '' : 'off',
            )
          : nothing
      }
      ${
        video && self.video && !hidden.has(FeatureButton.SwitchCamera)
          ? this.#control('callkit-switch-camera', s.switchCamera, icons.switchCamera, () =>
              this.#active?.switchCamera(),
            )
          : nothing
      }
      ${
        connected && !state.isGroup
          ? this.#control(
              'callkit-switch-media',
              video ? s.switchToAudio : s.switchToVideo,
              video ? icons.audio : icons.camera,
              () => this.#active?.switchMediaType(),
            )
          : nothing
      }
      ${
        state.isGroup && !hidden.has(FeatureButton.InviteUser)
          ? this.#control('callkit-invite', s.invite, icons.invite, () => this.#openInvite())
          : nothing
      }
      ${this.#control(
        'callkit-hangup',
        dialing && state.role !== 'callee' ? s.cancel : s.hangup,
        icons.hangup,
        () => this.#active?.hangup(),
        'danger',
      )}
    </div>`;
  }

  #control(
    testid: string,
    label: string,
    icon: TemplateResult,
    action: () => unknown,
    kind = '',
    data: { speaking?: boolean } = {},
  ): TemplateResult {
    return html`<button
      class="ctl ${kind}"
      data-testid=${testid}
      aria-label=${label}
      data-speaking=${data.speaking === undefined ? nothing : String(data.speaking)}
      @click=${() => this.#act(action)}
    >
      <span class="disc">${icon}</span><span aria-hidden="true">${label}</span>
    </button>`;
  }

  #renderInvite(s: Strings): TemplateResult {
    return html`<form
      class="invite"
      role="dialog"
      aria-label=${s.invite}
      @submit=${(e: SubmitEvent) => this.#submitInvite(e)}
      @keydown=${(e: KeyboardEvent) => e.key === 'Escape' && this.#closeInvite()}
    >
      <label>
        <span>${s.invitePrompt}</span>
      </label>
      <input
        type="text"
        data-testid="callkit-invite-input"
        aria-label=${s.invitePrompt}
        autocomplete="off"
      />
      <div class="row">
        <button type="button" class="pill" @click=${() => this.#closeInvite()}>${s.cancel}</button>
        <button type="submit" class="pill primary" data-testid="callkit-invite-submit">
          ${s.invite}
        </button>
      </div>
    </form>`;
  }

  #renderFloat(state: CallKitState, s: Strings): TemplateResult {
    const pos = this.#floatPosition();
    const remote = this.#peerParticipant(state);
    const showVideo =
      state.status === STATUS.CALLING_C2C_VIDEO &&
      remote.video &&
      this.#views.has('remote:' + remote.userID);
    return html`<div
      class="float"
      data-testid="callkit-float"
      role="group"
      tabindex="0"
      aria-label=${s.floatWindow}
      style="left:${pos.x}px;top:${pos.y}px"
      @pointerdown=${(e: PointerEvent) => this.#onFloatPointerDown(e)}
      @pointermove=${(e: PointerEvent) => this.#onFloatPointerMove(e)}
      @pointerup=${(e: PointerEvent) => this.#onFloatPointerUp(e)}
      @pointercancel=${(e: PointerEvent) => this.#onFloatPointerUp(e)}
      @keydown=${(e: KeyboardEvent) => this.#onFloatKey(e)}
    >
      <div class="fv">
        ${showVideo ? this.#slot('remote:' + remote.userID) : this.#avatar(remote, true, false)}
      </div>
      <div class="bar">
        ${
          state.connectedAt !== undefined
            ? this.#renderTimer(state, s)
            : html`<span>${state.status === STATUS.BE_INVITED ? s.incomingVideo : s.waiting}</span>`
        }
        <button
          class="icon-btn"
          data-testid="callkit-restore"
          aria-label=${s.restore}
          title=${s.restore}
          @click=${() => this.#act(() => this.#active?.setMinimized(false))}
        >
          ${icons.restore}
        </button>
      </div>
    </div>`;
  }

  /**
   * Toasts sit in the kit's area while it shows a call (under its top bar, so they never cover the
   * page's own header). Once the kit has collapsed to idle — or in CSS-only full screen — they are
   * fixed to the viewport where the kit is (see `#anchorToasts`), so a "declined" or "busy" stays
   * visible. `--callkit-toast-offset` (default 64px) sets how far below the kit's top edge.
   */
  #renderToasts(state: CallKitState): TemplateResult | typeof nothing {
    const owner = this.#active && viewers.get(this.#active)?.values().next().value;
    if (owner !== this) return nothing;
    const shown = uniqueToasts(state.toasts, (toast) => toastText(state.language, toast));
    return html`<div
      class="toasts ${this.#toastsDetached(state) ? 'detached' : ''}"
      data-testid="callkit-toasts"
      role="status"
      aria-live="polite"
    >
      ${shown.map(
        ({ toast, text, ids }) =>
          html`<div class="toast" data-testid="callkit-toast" data-kind=${toast.kind}>
            <span class="msg">${text}</span>
            <button
              class="icon-btn"
              aria-label=${translate(state.language, 'dismiss')}
              @click=${() => this.#act(() => ids.forEach((id) => this.#active?.dismissToast(id)))}
            >
              ${icons.close}
            </button>
          </div>`,
      )}
    </div>`;
  }

  #avatar(person: Participant, small: boolean, pulse: boolean): TemplateResult {
    const cls = `avatar ${small ? 'small' : ''} ${pulse ? 'pulse' : ''}`;
    if (person.avatar) return html`<img class=${cls} src=${person.avatar} alt="" />`;
    return html`<span class=${cls} aria-hidden="true" style="background:${colorOf(person.userID)}"
      >${initials(nameOf(person))}</span
    >`;
  }

  /** The other party of a 1:1 call or the inviter. */
  #peerParticipant(state: CallKitState): Participant {
    const id = state.peerUserID ?? state.remotes[0]?.userID ?? '';
    return state.remotes.find((p) => p.userID === id) ?? participant(id);
  }

  #peerName(state: CallKitState): string {
    return nameOf(this.#peerParticipant(state));
  }
}

/** Whether `person`'s speaking indicator is on: loud enough, and in the call (not ringing). */
function isSpeaking(person: Participant): boolean {
  return person.volume > SPEAKING_LEVEL && !person.ringing && person.audio;
}

function nameOf(person: Participant): string {
  return person.nickName || person.userID;
}

function initials(name: string): string {
  const parts = name
    .trim()
    .split(/[\s._-]+/)
    .filter(Boolean);
  const chars =
    parts.length > 1 ? [parts[0]![0], parts[1]![0]] : [...(parts[0] ?? '?')].slice(0, 2);
  return chars.join('').toUpperCase();
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), Math.max(min, max));
}

/** A stable, readable color per user. */
function colorOf(userID: string): string {
  let hash = 0;
  for (const ch of userID) hash = (hash * 31 + ch.charCodeAt(0)) | 0;
  return `hsl(${Math.abs(hash) % 360} 55% 42%)`;
}
