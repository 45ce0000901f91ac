/**
 * Ringing, as steps of a call transaction: telling invitees they are invited, answering, declining
 * (rejected or busy), stopping what still rings (timeout, cancel), and ringing again for a fresh
 * login. Each step changes invitee states only through the transaction's setter and leaves the
 * pushes, user releases and timers to its commit.
 *
 * Layers: calls/ (whose CallTx implements RingingTx) → invitations/ → cluster/ (types only).
 */
import { InviteEndReason } from '@ringline/protocol';
import type { CallRecord, InvitationRecord, InviteeState, PushBody } from '../cluster/types.js';
import type { Logger } from '../log.js';
import { invitedPush, ringingIn, stateOf } from './invitation.js';

/** What the ringing steps need of a call transaction (calls/tx.ts implements it). */
export interface RingingTx {
  readonly call: CallRecord;
  readonly invitations: ReadonlyMap<string, InvitationRecord>;
  /** The one way an invitee's state changes (checked against `inviteeTransitions`). */
  setInvitee(inv: InvitationRecord, userID: string, next: InviteeState): void;
  push(userID: string, push: PushBody): void;
  pushToMembers(push: PushBody, except?: string): void;
  /** Frees the user from this call on commit. */
  releaseUser(userID: string): void;
  /** Arms the invitation's timeout on commit (unless the call ended). */
  armTimer(inviteID: string, delayMs: number): void;
  /** Stops the invitation's timeout on commit. */
  cancelTimer(inviteID: string): void;
  /** The invitee logged in while it rang: they are no longer offline for it (a write). */
  reached(inv: InvitationRecord, userID: string): void;
}

/** Tells a new invitation's invitees: `invited` to those ringing, `lineBusy` about those busy. */
export function ring(tx: RingingTx, inv: InvitationRecord, log: Pick<Logger, 'debug'>): void {
  const { call } = tx;
  for (const u of inv.userIDList) {
    if (stateOf(inv, u) === 'ringing') {
      tx.push(u, invitedPush(call, inv));
    } else {
      log.debug('invitee busy', { inviteID: inv.inviteID, userID: u });
      tx.pushToMembers({
        type: 'lineBusy',
        inviteID: inv.inviteID,
        callID: call.callID,
        userID: u,
      });
    }
  }
  if (ringingIn(inv).length) tx.armTimer(inv.inviteID, inv.timeout * 1000);
}

/** The invitee answers (accept, or a join while their invitation rings). */
export function answer(tx: RingingTx, inv: InvitationRecord, userID: string): void {
  tx.setInvitee(inv, userID, 'accepted');
  if (!ringingIn(inv).length) tx.cancelTimer(inv.inviteID);
}

/** The invitee declines: rejected, or busy (their line is taken). */
export function decline(
  tx: RingingTx,
  inv: InvitationRecord,
  userID: string,
  how: 'rejected' | 'busy',
): void {
  tx.setInvitee(inv, userID, how);
  tx.releaseUser(userID);
  const ids = { inviteID: inv.inviteID, callID: inv.callID, userID };
  tx.pushToMembers(how === 'busy' ? { type: 'lineBusy', ...ids } : { type: 'rejected', ...ids });
  if (!ringingIn(inv).length) tx.cancelTimer(inv.inviteID);
}

/** Stops every invitee of `inv` still ringing; returns who they were. */
export function endRinging(
  tx: RingingTx,
  inv: InvitationRecord,
  reason: InviteEndReason,
): string[] {
  const ringing = ringingIn(inv);
  for (const u of ringing) {
    tx.setInvitee(inv, u, reason === InviteEndReason.TIMEOUT ? 'timeout' : 'cancelled');
    tx.releaseUser(u);
    tx.push(u, { type: 'inviteEnded', inviteID: inv.inviteID, callID: inv.callID, reason });
  }
  // An invitation nobody rings for has no timer left (it went with the last answer).
  if (ringing.length) tx.cancelTimer(inv.inviteID);
  return ringing;
}

/** The invitation's time is up: whoever still rings stops, and the members hear `noResponse`. */
export function timeOut(tx: RingingTx, inv: InvitationRecord): void {
  const timedOut = endRinging(tx, inv, InviteEndReason.TIMEOUT);
  for (const u of timedOut) {
    tx.pushToMembers({
      type: 'noResponse',
      inviteID: inv.inviteID,
      callID: tx.call.callID,
      userID: u,
      userIDList: timedOut,
    });
  }
}

/**
 * Pushes `invited` again for every invitation of the call still ringing for the user, to `to`
 * (one of the user's devices, ring-all) or the user.
 */
export function redeliver(tx: RingingTx, userID: string, to = userID): void {
  for (const inv of tx.invitations.values()) {
    if (stateOf(inv, userID) !== 'ringing') continue;
    tx.push(to, invitedPush(tx.call, inv));
    tx.reached(inv, userID);
  }
}
