import type { InvitationRecord } from '../cluster/types.js';

/** Whether `userID`'s invitation `inv` still rings (a pre-connecting invitee may use its media). */
export function ringsFor(inv: InvitationRecord, userID: string): boolean {
  const i = inv.userIDList.indexOf(userID);
  return i >= 0 && inv.states[i] === 'ringing';
}
