/** Invitations: ringing, busy, answers, timeouts and redelivery (see invitation.ts for layering). */
export {
  checkCancel,
  checkRinging,
  createInvitation,
  inviteeTransitions,
  invitedPush,
  ringTime,
  ringingIn,
  stateOf,
  type InviteRequest,
} from './invitation.js';
export {
  answer,
  decline,
  endRinging,
  redeliver,
  ring,
  timeOut,
  type RingingTx,
} from './ringing.js';
export { InvitationTimers, timerKey } from './timers.js';
