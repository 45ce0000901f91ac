import type { CallChanges } from './types.js';

/**
 * Refuses changes that break CallStore's rules (cluster/types.ts): they are bugs in the caller, and
 * writing them would leave invitations that no call loads.
 */
export function checkChanges(callID: string, changes: CallChanges, stored: boolean): void {
  const written = changes.invitations ?? [];
  const deleted = new Set(changes.deletedInvitations ?? []);
  const refuse = (why: string) => {
    throw new Error(`CallStore.commit(${callID}): ${why}`);
  };
  if (changes.call && changes.call.callID !== callID) {
    refuse(`the call record is ${changes.call.callID}'s`);
  }
  if (!written.length) return;
  if (changes.call === null) refuse('invitations written while the call is deleted');
  if (!stored && !changes.call) refuse('invitations written for a call that is not stored');
  for (const inv of written) {
    if (inv.callID !== callID) refuse(`invitation ${inv.inviteID} belongs to ${inv.callID}`);
    if (deleted.has(inv.inviteID)) refuse(`invitation ${inv.inviteID} both written and deleted`);
  }
}
