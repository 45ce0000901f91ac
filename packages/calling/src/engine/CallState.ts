import type { TransitionTable } from './StateMachine.js';

/** Where the local user stands in a call. */
export enum CallState {
  /** No call and no invitation. */
  Idle = 'idle',
  /** Calling out: local media taken, invitation ringing at the callee. */
  Dialing = 'dialing',
  /** An invitation is ringing here. */
  BeInvited = 'beInvited',
  /** In a call with at least one other member. */
  Connected = 'connected',
}

/** idle → dialing | beInvited → connected → idle; dialing and beInvited may also end unanswered. */
export const callTransitions: TransitionTable<CallState> = {
  [CallState.Idle]: [CallState.Dialing, CallState.BeInvited],
  [CallState.Dialing]: [CallState.Connected, CallState.Idle],
  [CallState.BeInvited]: [CallState.Connected, CallState.Idle],
  [CallState.Connected]: [CallState.Idle],
};
