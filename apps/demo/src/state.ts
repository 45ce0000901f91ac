/**
 * The demo's UI state and the one function that changes it. SDK events and user actions become
 * `Action`s; `reduce` turns them into the next state, so the view only renders and the rules can
 * be tested without a browser. Call status moves only along `STATUS_TRANSITIONS`.
 */
import type { CallType } from './sdk/trtc-calling.js';

/** What `#status` shows. */
export type CallStatus = 'idle' | 'dialing' | 'ringing' | 'in call';

export type SessionState = 'signed-out' | 'signing-in' | 'ready';

export type VideoQuality = '480p' | '720p' | '1080p';

/** The other party of the current call and what they send. */
export interface RemoteUser {
  readonly userID: string;
  /** False once they muted their mic (USER_AUDIO_AVAILABLE). */
  readonly audio: boolean;
  /** False while their camera is off (USER_VIDEO_AVAILABLE). */
  readonly video: boolean;
  /** True between USER_ENTER and USER_LEAVE. */
  readonly joined: boolean;
}

/** An invitation waiting for Accept / Reject. */
export interface Incoming {
  readonly sponsor: string;
  readonly callType: CallType;
  readonly inviteID: string;
}

export interface DemoState {
  readonly session: SessionState;
  readonly userID: string | null;
  readonly status: CallStatus;
  readonly callType: CallType | null;
  readonly peer: string | null;
  readonly incoming: Incoming | null;
  readonly remote: RemoteUser | null;
  readonly micMuted: boolean;
  readonly cameraOff: boolean;
  readonly quality: VideoQuality;
  /** A one-line, human explanation of the last thing that ended or failed. */
  readonly notice: string | null;
}

export const initialState: DemoState = {
  session: 'signed-out',
  userID: null,
  status: 'idle',
  callType: null,
  peer: null,
  incoming: null,
  remote: null,
  micMuted: false,
  cameraOff: false,
  quality: '720p',
  notice: null,
};

export type Action =
  | { type: 'signingIn'; userID: string }
  | { type: 'ready' }
  | { type: 'signedOut'; notice?: string }
  | { type: 'dial'; peer: string; callType: CallType }
  | { type: 'invited'; incoming: Incoming }
  | { type: 'accepted' }
  | { type: 'userEnter'; userID: string }
  | { type: 'userLeave'; userID: string }
  | { type: 'ended'; notice: string }
  | { type: 'remoteVideo'; userID: string; available: boolean }
  | { type: 'remoteAudio'; userID: string; available: boolean }
  | { type: 'micMuted'; muted: boolean }
  | { type: 'cameraOff'; off: boolean }
  | { type: 'callType'; callType: CallType }
  | { type: 'quality'; quality: VideoQuality }
  | { type: 'notice'; notice: string | null };

/** Where each call status may go next; staying put is always allowed. */
export const STATUS_TRANSITIONS: Readonly<Record<CallStatus, readonly CallStatus[]>> = {
  idle: ['dialing', 'ringing'],
  dialing: ['in call', 'idle'],
  ringing: ['in call', 'idle'],
  'in call': ['idle'],
};

/** An action that makes no sense in the current state (e.g. "accepted" while idle). */
export class TransitionError extends Error {
  constructor(
    readonly action: Action['type'],
    readonly from: CallStatus,
    readonly to: CallStatus,
  ) {
    super(`"${action}" cannot move the call from ${from} to ${to}`);
    this.name = 'TransitionError';
  }
}

function moveTo(state: DemoState, action: Action, next: CallStatus): DemoState {
  if (state.status === next) return state;
  if (!STATUS_TRANSITIONS[state.status].includes(next)) {
    throw new TransitionError(action.type, state.status, next);
  }
  return { ...state, status: next };
}

/** Everything about a call goes; the session and the user's settings stay. */
function callCleared(state: DemoState): DemoState {
  return {
    ...state,
    status: 'idle',
    callType: null,
    peer: null,
    incoming: null,
    remote: null,
    micMuted: false,
    cameraOff: false,
  };
}

function remoteFor(state: DemoState, userID: string): RemoteUser {
  if (state.remote?.userID === userID) return state.remote;
  // Until the SDK reports otherwise, a peer sends what the call type implies.
  return { userID, audio: true, video: state.callType === 2, joined: false };
}

/** The next state; throws `TransitionError` for an action the current status does not allow. */
export function reduce(state: DemoState, action: Action): DemoState {
  switch (action.type) {
    case 'signingIn':
      return { ...callCleared(state), session: 'signing-in', userID: action.userID, notice: null };
    case 'ready':
      return state.session === 'signing-in' ? { ...state, session: 'ready' } : state;
    case 'signedOut':
      return {
        ...callCleared(state),
        session: 'signed-out',
        userID: null,
        notice: action.notice ?? null,
      };
    case 'dial': {
      const next = moveTo(state, action, 'dialing');
      return {
        ...next,
        peer: action.peer,
        callType: action.callType,
        micMuted: false,
        cameraOff: false,
        notice: null,
      };
    }
    case 'invited': {
      const next = moveTo(state, action, 'ringing');
      return {
        ...next,
        incoming: action.incoming,
        peer: action.incoming.sponsor,
        callType: action.incoming.callType,
        micMuted: false,
        cameraOff: false,
        notice: null,
      };
    }
    case 'accepted':
      return { ...moveTo(state, action, 'in call'), incoming: null };
    case 'userEnter': {
      const next = moveTo(state, action, 'in call');
      return {
        ...next,
        incoming: null,
        peer: next.peer ?? action.userID,
        remote: { ...remoteFor(next, action.userID), joined: true },
      };
    }
    case 'userLeave':
      if (state.remote?.userID !== action.userID) return state;
      return { ...state, remote: { ...state.remote, joined: false } };
    case 'ended':
      moveTo(state, action, 'idle');
      return { ...callCleared(state), notice: action.notice };
    case 'remoteVideo':
      if (state.status === 'idle') return state;
      return { ...state, remote: { ...remoteFor(state, action.userID), video: action.available } };
    case 'remoteAudio':
      if (state.status === 'idle') return state;
      return { ...state, remote: { ...remoteFor(state, action.userID), audio: action.available } };
    case 'micMuted':
      return { ...state, micMuted: action.muted };
    case 'cameraOff':
      return { ...state, cameraOff: action.off };
    case 'callType':
      if (state.status === 'idle') return state;
      // Switching to audio turns the camera off; back to video turns it on again.
      return { ...state, callType: action.callType, cameraOff: action.callType === 1 };
    case 'quality':
      return { ...state, quality: action.quality };
    case 'notice':
      return { ...state, notice: action.notice };
  }
}

/** Holds the state; every change goes through `dispatch`, which reports status moves. */
export class Store {
  #state: DemoState;
  readonly #listeners = new Set<(state: DemoState, prev: DemoState) => void>();

  constructor(
    /** Told about every status move (`prev -> next`) and every action refused. */
    private readonly report: (message: string, kind: 'info' | 'warning') => void,
    state: DemoState = initialState,
  ) {
    this.#state = state;
  }

  get state(): DemoState {
    return this.#state;
  }

  /** Applies an action; one the current status does not allow is reported and changes nothing. */
  dispatch(action: Action): void {
    const prev = this.#state;
    let next: DemoState;
    try {
      next = reduce(prev, action);
    } catch (error) {
      if (!(error instanceof TransitionError)) throw error;
      this.report(`ignored: ${error.message}`, 'warning');
      return;
    }
    if (next === prev) return;
    this.#state = next;
    if (next.status !== prev.status) this.report(`status ${prev.status} -> ${next.status}`, 'info');
    for (const listener of this.#listeners) {
      // A broken renderer must not stop the others or the caller's flow.
      try {
        listener(next, prev);
      } catch (error) {
        this.report(`render failed: ${String(error)}`, 'warning');
      }
    }
  }

  subscribe(listener: (state: DemoState, prev: DemoState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
