/**
 * A call's life and membership, as steps of a call transaction: entering (accept, join), leaving
 * (hangup, a session that ended), and ending — when fewer than two members remain and nothing
 * rings, or at once for everyone.
 *
 * Layers: calls/ → invitations/ (cancelling what still rings), cluster/.
 */
import { CallEndReason, InviteEndReason, MediaMode, type RequestResults } from '@ringline/protocol';
import { endRinging } from '../invitations/index.js';
import { CallEventType } from './events.js';
import type { CallTx } from './tx.js';

/** Adds a user who accepted or joined to the call's members; the result tells them the call. */
export function enter(tx: CallTx, userID: string, video: boolean): RequestResults['accept'] {
  const { call } = tx;
  const others = call.members.map((m) => ({ ...m }));
  const me = { userID, audio: true, video };
  call.members.push(me);
  if (!call.joined.includes(userID)) call.joined.push(userID);
  const connected = tx.state === 'ringing' && call.members.length >= 2;
  if (connected) {
    tx.setState('connected');
    call.connectedAt = tx.time;
  }
  tx.emit(CallEventType.JOINED, { userID, connected });
  tx.pushToMembers({ type: 'userEnter', callID: call.callID, ...me }, userID);
  // Whoever already publishes is offered to the newcomer at once, before they publish.
  if (call.media === MediaMode.SFU) tx.sfuOps.push({ kind: 'offer', userID });
  const joined: RequestResults['accept'] = {
    callID: call.callID,
    roomID: call.roomID,
    callType: call.callType,
    members: others,
    media: call.media,
    inviteeList: tx.ringing().filter((u) => u !== userID),
  };
  if (call.groupID !== undefined) joined.groupID = call.groupID;
  return joined;
}

/** The member leaves; the invitations they made that still ring are cancelled. */
export function leave(tx: CallTx, userID: string, reason: 'hangup' | 'disconnected'): void {
  const { call } = tx;
  call.members = call.members.filter((m) => m.userID !== userID);
  tx.releaseUser(userID);
  tx.emit(CallEventType.LEFT, { userID, reason });
  for (const inv of tx.invitations.values()) {
    if (inv.inviter === userID) endRinging(tx, inv, InviteEndReason.CANCELLED);
  }
  tx.pushToMembers({ type: 'userLeave', callID: call.callID, userID });
  if (call.media === MediaMode.SFU) tx.sfuOps.push({ kind: 'leave', userID });
  settle(tx, reason, CallEndReason.CANCELLED);
}

/**
 * Ends the call when fewer than two members remain and nothing rings. The reason depends on
 * whether it ever connected: `ifConnected` (hangup/disconnected) or `ifNever` (no_answer/cancelled).
 */
export function settle(tx: CallTx, ifConnected: CallEndReason, ifNever: CallEndReason): void {
  if (tx.state === 'ended') return;
  if (tx.call.members.length >= 2 || tx.ringing().length) return;
  tx.end(tx.state === 'connected' ? ifConnected : ifNever);
}

/** Ends the call for everyone at once (invitations still ringing stop as cancelled). */
export function endCall(tx: CallTx, reason: CallEndReason): void {
  if (tx.state === 'ended') return;
  for (const inv of tx.invitations.values()) endRinging(tx, inv, InviteEndReason.CANCELLED);
  tx.end(reason);
}
