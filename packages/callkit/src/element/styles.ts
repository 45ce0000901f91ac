/** The kit's look: a dark call surface, round controls, responsive down to a 360 px phone. */
import { css } from 'lit';

/** The kit's font stack (Latin, Chinese and Japanese), shared by its elements. */
export const fontStack = css`system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Hiragino Sans',
  'Noto Sans CJK SC', sans-serif`;

export const styles = css`
  :host {
    display: block;
    position: relative;
    font-family: ${fontStack};
    color: #f5f6f8;
    --rl-bg: #16181d;
    --rl-surface: #22252d;
    --rl-accent: #2f80ed;
    --rl-danger: #e5484d;
    --rl-ok: #30a46c;
    --rl-muted: #9aa1ad;
    --rl-radius: 16px;
  }
  /* TUICallKit's size when the page gives none (while idle or minimized the element sets itself
     to display: contents and takes no space; see #syncHost). */
  :host {
    width: 960px;
    height: 630px;
  }
  * {
    box-sizing: border-box;
  }
  button {
    font: inherit;
    color: inherit;
  }
  :focus-visible {
    outline: 3px solid #8ab4ff;
    outline-offset: 2px;
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }

  /* The call surface fills the host; full screen covers the viewport. */
  .panel {
    position: absolute;
    inset: 0;
    display: flex;
    flex-direction: column;
    background: radial-gradient(circle at 50% 20%, #2a2f3a 0%, var(--rl-bg) 70%);
    border-radius: var(--rl-radius);
    overflow: hidden;
  }
  .panel.full {
    position: fixed;
    inset: 0;
    z-index: 2147483000;
    border-radius: 0;
  }
  .topbar {
    position: relative;
    z-index: 3;
    display: flex;
    align-items: center;
    gap: 12px;
    padding: 12px 16px;
    min-height: 52px;
  }
  .topbar .spacer {
    flex: 1;
  }
  .timer {
    font-variant-numeric: tabular-nums;
    font-size: 15px;
    letter-spacing: 0.02em;
  }
  .net {
    display: inline-flex;
    align-items: flex-end;
    gap: 2px;
    height: 14px;
  }
  .net span {
    width: 3px;
    background: #ffffff40;
    border-radius: 1px;
  }
  .net span.on {
    background: var(--rl-ok);
  }
  .net.poor span.on {
    background: #f5a524;
  }
  .net.bad span.on {
    background: var(--rl-danger);
  }
  .net.down span {
    background: #e5484d66;
  }
  .icon-btn {
    display: inline-grid;
    place-items: center;
    width: 36px;
    height: 36px;
    border: 0;
    border-radius: 10px;
    background: #ffffff14;
    cursor: pointer;
  }
  .icon-btn:hover {
    background: #ffffff26;
  }

  .stage {
    position: relative;
    flex: 1;
    min-height: 0;
  }

  /* The remote's name and network bars on their 1:1 view. */
  .badge {
    position: absolute;
    left: 10px;
    bottom: 10px;
    z-index: 3;
    display: inline-flex;
    align-items: center;
    gap: 8px;
    max-width: calc(100% - 20px);
    padding: 4px 8px;
    border-radius: 8px;
    background: #0009;
    font-size: 13px;
    pointer-events: none;
  }
  .badge .nm {
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .view.small .badge {
    left: 6px;
    bottom: 6px;
    padding: 2px 6px;
    font-size: 11px;
  }

  /* Person card: incoming, dialing and audio calls. */
  .person {
    position: absolute;
    inset: 0;
    display: flex;
    flex-direction: column;
    align-items: center;
    justify-content: center;
    gap: 12px;
    text-align: center;
    padding: 16px;
    z-index: 2;
    pointer-events: none;
  }
  .person .name {
    font-size: 22px;
    font-weight: 600;
    max-width: 100%;
    overflow: hidden;
    text-overflow: ellipsis;
  }
  .person .sub {
    color: var(--rl-muted);
    font-size: 15px;
  }
  .avatar {
    display: grid;
    place-items: center;
    width: 96px;
    height: 96px;
    border-radius: 28px;
    font-size: 36px;
    font-weight: 600;
    color: #fff;
    object-fit: cover;
    flex: none;
    box-shadow: 0 8px 30px #0006;
  }
  .avatar.small {
    width: 56px;
    height: 56px;
    border-radius: 18px;
    font-size: 22px;
  }
  .pulse {
    animation: pulse 1.6s ease-in-out infinite;
  }
  @keyframes pulse {
    50% {
      box-shadow:
        0 0 0 12px #2f80ed33,
        0 8px 30px #0006;
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .pulse {
      animation: none;
    }
  }

  /* Videos: the large view fills the stage; the small one floats in a corner. */
  .view {
    position: absolute;
    overflow: hidden;
    background: #0d0f13;
  }
  .view.large {
    inset: 0;
  }
  /* The speaking ring of a 1:1 view, drawn over its video. */
  .view.speaking::after {
    content: '';
    position: absolute;
    inset: 0;
    z-index: 3;
    border-radius: inherit;
    box-shadow: inset 0 0 0 3px var(--rl-ok);
    pointer-events: none;
  }
  .person.speaking .avatar {
    box-shadow:
      0 0 0 4px var(--rl-ok),
      0 8px 30px #0006;
  }
  .view.small {
    right: 12px;
    top: 12px;
    width: 28%;
    max-width: 200px;
    min-width: 96px;
    aspect-ratio: 3 / 4;
    border-radius: 12px;
    z-index: 4;
    border: 2px solid #ffffff30;
    cursor: pointer;
    padding: 0;
  }
  .view ::slotted(*) {
    width: 100%;
    height: 100%;
  }
  .view.bg {
    background-size: cover;
    background-position: center;
  }
  .view .off {
    position: absolute;
    inset: 0;
    display: grid;
    place-items: center;
    background: #1b1e24;
  }

  /* Group grid: up to 16 tiles. */
  .grid {
    position: absolute;
    inset: 0;
    display: grid;
    gap: 6px;
    padding: 6px;
    grid-template-columns: repeat(var(--cols, 2), minmax(0, 1fr));
    grid-auto-rows: 1fr;
    overflow: auto;
  }
  .tile {
    position: relative;
    overflow: hidden;
    border-radius: 12px;
    background: var(--rl-surface);
    min-height: 90px;
    outline: 3px solid transparent;
    transition: outline-color 0.15s;
  }
  .tile.speaking {
    outline-color: var(--rl-ok);
  }
  /* A ringing invitee: dimmed avatar under a waiting indicator, as TUICallKit's loading tile. */
  .tile.ringing .avatar {
    opacity: 0.55;
  }
  .waiting {
    display: flex;
    gap: 6px;
  }
  .waiting i {
    width: 9px;
    height: 9px;
    border-radius: 50%;
    background: #fff;
    animation: waiting 1.2s linear infinite;
  }
  .waiting i:nth-child(2) {
    animation-delay: 0.4s;
  }
  .waiting i:nth-child(3) {
    animation-delay: 0.8s;
  }
  @keyframes waiting {
    0%,
    100% {
      opacity: 0.2;
    }
    30% {
      opacity: 1;
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .waiting i {
      animation: none;
      opacity: 0.8;
    }
  }
  .tile .video {
    position: absolute;
    inset: 0;
  }
  .tile .video ::slotted(*) {
    width: 100%;
    height: 100%;
  }
  .tile .center {
    position: absolute;
    inset: 0;
    display: grid;
    place-items: center;
    /* A ringing invitee's waiting dots sit under the avatar. */
    align-content: center;
    gap: 12px;
  }
  .tile .label {
    position: absolute;
    left: 6px;
    bottom: 6px;
    right: 6px;
    display: flex;
    align-items: center;
    gap: 4px;
    font-size: 13px;
    text-shadow: 0 1px 2px #000;
  }
  .tile .label .nm {
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
    background: #0008;
    padding: 2px 6px;
    border-radius: 6px;
  }
  .tile .label svg {
    width: 16px;
    height: 16px;
    flex: none;
  }
  .tile .label .net {
    margin-left: auto;
    background: #0008;
    border-radius: 6px;
    padding: 3px 4px;
    height: 20px;
    box-sizing: border-box;
  }
  .tile .label .state {
    background: #0008;
    border-radius: 6px;
    padding: 2px;
    display: inline-grid;
    color: var(--rl-danger);
  }

  /* Controls. */
  .controls {
    position: relative;
    z-index: 5;
    display: flex;
    flex-wrap: wrap;
    justify-content: center;
    gap: 12px 20px;
    padding: 16px 12px 20px;
    background: linear-gradient(transparent, #000a);
  }
  .ctl {
    display: flex;
    flex-direction: column;
    align-items: center;
    gap: 6px;
    min-width: 64px;
    font-size: 12px;
    color: #dfe3ea;
    background: none;
    border: 0;
    padding: 0;
    cursor: pointer;
  }
  .ctl .disc {
    display: grid;
    place-items: center;
    width: 52px;
    height: 52px;
    border-radius: 50%;
    background: #ffffff22;
    transition:
      background 0.15s,
      transform 0.1s;
  }
  .ctl:hover .disc {
    background: #ffffff38;
  }
  .ctl:active .disc {
    transform: scale(0.94);
  }
  .ctl.speaking .disc {
    box-shadow: 0 0 0 3px var(--rl-ok);
  }
  .ctl.off .disc {
    background: #f5f6f8;
    color: #16181d;
  }
  .ctl.danger .disc {
    background: var(--rl-danger);
  }
  .ctl.ok .disc {
    background: var(--rl-ok);
  }
  .ctl.big .disc {
    width: 64px;
    height: 64px;
  }
  .ctl.danger .disc svg {
    transform: none;
  }

  /* Invite form. */
  .invite {
    position: absolute;
    z-index: 6;
    left: 50%;
    top: 50%;
    transform: translate(-50%, -50%);
    width: min(92%, 360px);
    background: var(--rl-surface);
    border-radius: 14px;
    padding: 16px;
    display: grid;
    gap: 10px;
    box-shadow: 0 10px 40px #000a;
  }
  .invite input {
    font: inherit;
    padding: 10px;
    border-radius: 8px;
    border: 1px solid #ffffff33;
    background: #0d0f13;
    color: inherit;
  }
  .invite .row {
    display: flex;
    gap: 8px;
    justify-content: flex-end;
  }
  .pill {
    border: 0;
    border-radius: 8px;
    padding: 8px 14px;
    background: #ffffff22;
    cursor: pointer;
  }
  .pill.primary {
    background: var(--rl-accent);
  }

  /* Toasts: in the kit's area under its top bar while it shows a call; fixed where the kit is
     once it has collapsed to idle (the element sets --rl-anchor-*). Apps move them with
     --callkit-toast-offset, the distance from the kit's top edge. */
  .toasts {
    position: absolute;
    z-index: 2147483600;
    top: var(--callkit-toast-offset, 64px);
    left: 50%;
    transform: translateX(-50%);
    display: grid;
    gap: 8px;
    width: min(92%, 420px);
    pointer-events: none;
  }
  .toasts.detached {
    position: fixed;
    top: max(
      calc(env(safe-area-inset-top, 0px) + 8px),
      calc(var(--rl-anchor-top, 0px) + var(--callkit-toast-offset, 64px))
    );
    left: var(--rl-anchor-x, 50%);
    width: min(92vw, 420px);
  }
  .toast {
    pointer-events: auto;
    display: flex;
    align-items: center;
    gap: 8px;
    background: #1f232bee;
    color: #fff;
    border-radius: 12px;
    padding: 10px 10px 10px 16px;
    box-shadow: 0 6px 24px #0007;
    font-size: 14px;
  }
  .toast .msg {
    flex: 1;
  }
  .toast .icon-btn {
    width: 28px;
    height: 28px;
  }

  /* Floating window when minimized. */
  .float {
    position: fixed;
    z-index: 2147483500;
    width: 132px;
    min-height: 132px;
    border-radius: 16px;
    background: var(--rl-surface);
    box-shadow: 0 10px 34px #000a;
    overflow: hidden;
    touch-action: none;
    user-select: none;
    cursor: grab;
    display: flex;
    flex-direction: column;
  }
  .float:active {
    cursor: grabbing;
  }
  .float .fv {
    position: relative;
    height: 132px;
    display: grid;
    place-items: center;
  }
  .float .fv ::slotted(*) {
    position: absolute;
    inset: 0;
    width: 100%;
    height: 100%;
  }
  .float .bar {
    display: flex;
    align-items: center;
    justify-content: space-between;
    padding: 6px 8px;
    font-size: 13px;
    background: #0007;
  }

  /* Phones: the call covers the screen, as TUICallKit's H5 layout (PHONE_QUERY in the element). The
     host then takes no room of its own, so a 960 px default cannot widen the page. */
  @media (max-width: 600px), (max-height: 500px) and (pointer: coarse) {
    :host {
      width: auto;
      height: 0;
    }
    .panel {
      position: fixed;
      inset: 0;
      z-index: 2147483000;
      border-radius: 0;
    }
  }

  @media (max-width: 480px) {
    .controls {
      gap: 10px 12px;
      padding: 12px 8px 16px;
    }
    .ctl {
      min-width: 56px;
      font-size: 11px;
    }
    .ctl .disc {
      width: 46px;
      height: 46px;
    }
    .ctl.big .disc {
      width: 58px;
      height: 58px;
    }
    .avatar {
      width: 80px;
      height: 80px;
      font-size: 30px;
    }
    .grid {
      grid-template-columns: repeat(min(var(--cols, 2), 2), minmax(0, 1fr));
    }
  }
`;
