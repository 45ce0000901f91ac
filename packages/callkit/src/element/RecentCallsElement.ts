/**
 * `<ringline-recent-calls>`: the user's recent calls — with whom, audio or video, when, how long,
 * how it ended — missed calls marked, the unread count, and a call-back button per call. It
 * renders the core's `state.recents` and forwards clicks to the core (`refreshRecentCalls`,
 * `loadMoreRecentCalls`, `markMissedCallsSeen`, `callBack`); the list itself is the core's.
 */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import type { CallKitServer } from '../core/CallKitServer.js';
import { CallMediaType, type CallKitState, type RecentCall } from '../core/types.js';
import {
  STRINGS,
  callTimeText,
  formatDuration,
  outcomeText,
  translate,
  type Strings,
} from '../i18n/index.js';
import { icons } from './icons.js';
import { fontStack } from './styles.js';

/** What the panel needs from the core. */
export type RecentsServer = Pick<
  CallKitServer,
  'store' | 'refreshRecentCalls' | 'loadMoreRecentCalls' | 'markMissedCallsSeen' | 'callBack'
>;

let defaultServer: RecentsServer | undefined;

/** Sets the core that panels render when their `server` property is not set. */
export function setDefaultRecentsServer(server: RecentsServer): void {
  defaultServer = server;
}

export class RinglineRecentCallsElement extends LitElement {
  static override properties = { server: { attribute: false } };

  /** The element's shadow-DOM styles (Lit's `styles`). */
  static override styles = css`
    :host {
      display: block;
      font-family: ${fontStack};
      color: #1d2026;
    }
    header {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 8px;
      padding: 8px 0;
    }
    h2 {
      font-size: 1rem;
      margin: 0;
      flex: 1;
      white-space: nowrap;
    }
    .badge {
      background: #e5484d;
      color: #fff;
      border-radius: 999px;
      padding: 0 8px;
      font-size: 0.8rem;
    }
    ul {
      list-style: none;
      margin: 0;
      padding: 0;
    }
    li {
      display: flex;
      align-items: center;
      gap: 8px;
      padding: 6px 0;
      border-bottom: 1px solid #e4e6eb;
    }
    li.missed .peer {
      color: #e5484d;
      font-weight: 600;
    }
    li.missed.unseen .peer::after {
      content: ' •';
    }
    .what {
      flex: 1;
      min-width: 0;
    }
    .peer {
      display: block;
      overflow: hidden;
      text-overflow: ellipsis;
    }
    .meta {
      font-size: 0.8rem;
      color: #6b7280;
    }
    button {
      font: inherit;
      cursor: pointer;
    }
    button.call-back {
      border: none;
      border-radius: 50%;
      width: 36px;
      height: 36px;
      background: #30a46c;
      color: #fff;
      display: inline-flex;
      align-items: center;
      justify-content: center;
    }
    .empty,
    .error {
      padding: 12px 0;
      color: #6b7280;
    }
  `;

  /** The core to render; the shared `TUICallKitServer` unless set. */
  declare server: RecentsServer | undefined;

  #active: RecentsServer | undefined;
  #state: CallKitState | undefined;
  #unsubscribe: (() => void) | undefined;
  /** The user whose list this panel asked for (a new login asks again). */
  #loadedFor = '';

  override connectedCallback(): void {
    super.connectedCallback();
    this.#connect();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#active = undefined;
  }

  protected override willUpdate(): void {
    if ((this.server ?? defaultServer) !== this.#active) this.#connect();
  }

  #connect(): void {
    const server = this.server ?? defaultServer;
    if (!server || server === this.#active) return;
    this.#unsubscribe?.();
    this.#active = server;
    this.#loadedFor = '';
    this.#unsubscribe = server.store.subscribe((state) => this.#onState(state));
    this.#onState(server.store.state);
  }

  #onState(state: CallKitState): void {
    this.#state = state;
    const user = state.self.userID;
    if (user && user !== this.#loadedFor) {
      this.#loadedFor = user;
      // Failures show in the panel (recents.error).
      this.#active?.refreshRecentCalls().catch(() => {});
    }
    if (!user) this.#loadedFor = '';
    this.requestUpdate();
  }

  protected override render(): unknown {
    const state = this.#state;
    if (!state) return nothing;
    const s = STRINGS[state.language] ?? STRINGS.en;
    const { recents } = state;
    return html`
      <section aria-label=${s.recentCalls} data-testid="recent-calls">
        <header>
          <h2>${s.recentCalls}</h2>
          ${
            recents.unread > 0
              ? html`<span class="badge" data-testid="recent-calls-unread"
                    >${translate(state.language, 'unreadMissed', { count: recents.unread })}</span
                  >
                  <button
                    data-testid="recent-calls-mark-seen"
                    @click=${() => this.#act(() => this.#active?.markMissedCallsSeen())}
                  >
                    ${s.markAllSeen}
                  </button>`
              : nothing
          }
          <button
            data-testid="recent-calls-refresh"
            ?disabled=${recents.loading}
            @click=${() => this.#act(() => this.#active?.refreshRecentCalls())}
          >
            ${s.refreshCalls}
          </button>
        </header>
        ${
          recents.error !== undefined
            ? html`<p class="error" role="alert">
                ${translate(state.language, 'recentsError', { code: recents.error })}
              </p>`
            : nothing
        }
        ${
          recents.calls.length === 0
            ? html`<p class="empty">${recents.loading ? s.loadingCalls : s.noRecentCalls}</p>`
            : html`<ul>
                ${recents.calls.map((c) => this.#renderCall(state, s, c))}
              </ul>`
        }
        ${
          recents.next !== undefined
            ? html`<button
                data-testid="recent-calls-more"
                ?disabled=${recents.loading}
                @click=${() => this.#act(() => this.#active?.loadMoreRecentCalls())}
              >
                ${s.loadMore}
              </button>`
            : nothing
        }
      </section>
    `;
  }

  #renderCall(state: CallKitState, s: Strings, call: RecentCall): TemplateResult {
    const media = call.mediaType === CallMediaType.AUDIO ? s.audioCall : s.videoCall;
    const way = call.direction === 'incoming' ? s.incomingCall : s.outgoingCall;
    const parts = [
      way,
      media,
      callTimeText(state.language, call.startedAt),
      ...(call.durationMs > 0 ? [formatDuration(call.durationMs)] : []),
      outcomeText(state.language, call),
    ].filter(Boolean);
    const classes = [call.missed ? 'missed' : '', call.missed && !call.seen ? 'unseen' : '']
      .filter(Boolean)
      .join(' ');
    return html`<li class=${classes} data-testid="recent-call" data-call-id=${call.callID}>
      <span class="what">
        <span class="peer">${call.isGroup ? `${s.groupCall} · ${call.peer}` : call.peer}</span>
        <span class="meta">${parts.join(' · ')}</span>
      </span>
      <button
        class="call-back"
        data-testid="recent-call-back"
        aria-label=${translate(state.language, 'callBack', { user: call.peer })}
        title=${translate(state.language, 'callBack', { user: call.peer })}
        ?disabled=${state.status !== 'idle'}
        @click=${() => this.#act(() => this.#active?.callBack(call.callID))}
      >
        ${call.mediaType === CallMediaType.AUDIO ? icons.phone : icons.camera}
      </button>
    </li>`;
  }

  /** Runs a click's action; its failure shows through the core's state (toast or error). */
  #act(action: () => Promise<void> | undefined): void {
    action()?.catch(() => {});
  }
}
