/**
 * Invitations as records (docs/protocol.md "Invitations and calls"): who rings, the table of how an
 * invitee's state may change, what an invitation's `invited` push says, which answers are refused.
 * Pure functions over `InvitationRecord`; the transaction that changes them lives in `calls/`.
 *
 * Layers: calls/ → invitations/ → cluster/ (types only). Nothing here imports calls/ or media/.
 */
import { randomUUID } from 'node:crypto';
import type { ClientRequestOf } from '@ringline/protocol';
import type { CallRecord, InvitationRecord, InviteeState, PushBody } from '../cluster/types.js';
import { ServerError } from '../errors.js';

/** An invitee's answer is final: only `ringing` may change. */
export const inviteeTransitions: Record<InviteeState, readonly InviteeState[]> = {
  ringing: ['accepted', 'rejected', 'busy', 'timeout', 'cancelled'],
  accepted: [],
  rejected: [],
  busy: [],
  timeout: [],
  cancelled: [],
};

/** The invitee's state in `inv`, or undefined when `userID` is not one of its invitees. */
export function stateOf(inv: InvitationRecord, userID: string): InviteeState | undefined {
  const i = inv.userIDList.indexOf(userID);
  return i < 0 ? undefined : inv.states[i];
}

/** The invitees of `inv` still ringing. */
export const ringingIn = (inv: InvitationRecord): string[] =>
  inv.userIDList.filter((_, i) => inv.states[i] === 'ringing');

/**
 * How long an invitation rings, seconds: what the invite asks (or the server's default), at most
 * `maxRingTime`. 0 is TRTCCalling's "no timeout": it rings as long as the server allows.
 */
export function ringTime(
  asked: number | undefined,
  defaultTimeout: number,
  maxRingTime: number,
): number {
  const t = asked ?? defaultTimeout;
  return t === 0 ? maxRingTime : Math.min(t, maxRingTime);
}

/** What the invite request says about an invitation beyond its invitees. */
export type InviteRequest = Omit<ClientRequestOf<'invite'>, 'id' | 'type'>;

/**
 * A new invitation into `call`. Each invitee rings if `claim` binds them to the call, and is busy
 * otherwise (they are in another call or ringing for one).
 */
export async function createInvitation(
  call: CallRecord,
  inviter: string,
  list: string[],
  req: Pick<InviteRequest, 'groupID' | 'offlinePushInfo'>,
  timeout: number,
  now: number,
  claim: (userID: string) => Promise<boolean>,
): Promise<InvitationRecord> {
  const inv: InvitationRecord = {
    inviteID: randomUUID(),
    callID: call.callID,
    inviter,
    callType: call.callType,
    userIDList: list,
    states: [],
    timeout,
    createdAt: now,
    expiresAt: now + timeout * 1000,
  };
  if (req.groupID !== undefined) inv.groupID = req.groupID;
  if (req.offlinePushInfo !== undefined) inv.offlinePushInfo = req.offlinePushInfo;
  for (const u of list) inv.states.push((await claim(u)) ? 'ringing' : 'busy');
  return inv;
}

/** The `invited` push for an invitee of `inv`; its timeout is what is left of the ring time. */
export function invitedPush(call: CallRecord, inv: InvitationRecord): PushBody {
  const remaining =
    inv.expiresAt === undefined ? 0 : Math.max(1, Math.ceil((inv.expiresAt - Date.now()) / 1000));
  const push: PushBody = {
    type: 'invited',
    inviteID: inv.inviteID,
    callID: call.callID,
    roomID: call.roomID,
    sponsor: inv.inviter,
    userIDList: [...inv.userIDList],
    isFromGroup: inv.groupID !== undefined,
    callType: call.callType,
    timeout: remaining,
    media: call.media,
  };
  if (inv.groupID !== undefined) push.groupID = inv.groupID;
  if (inv.offlinePushInfo !== undefined) push.offlinePushInfo = inv.offlinePushInfo;
  return push;
}

/** Refuses an answer from someone the invitation is not for, or to an ended invitation. */
export function checkRinging(inv: InvitationRecord, userID: string): void {
  const state = stateOf(inv, userID);
  if (state === undefined) throw ServerError.notYourInvitation(inv.inviteID);
  if (state === 'ringing') return;
  if (state === 'timeout' || state === 'cancelled') {
    throw ServerError.invitationNotFound(inv.inviteID);
  }
  throw ServerError.alreadyHandled(inv.inviteID);
}

/** Refuses a cancel by anyone but the inviter, or of an invitation that no longer rings. */
export function checkCancel(inv: InvitationRecord, userID: string): void {
  if (inv.inviter !== userID) throw ServerError.notYourInvitation(inv.inviteID);
  if (ringingIn(inv).length) return;
  const answered = inv.states.some((state) => ['accepted', 'rejected', 'busy'].includes(state));
  throw answered
    ? ServerError.alreadyHandled(inv.inviteID)
    : ServerError.invitationNotFound(inv.inviteID);
}
