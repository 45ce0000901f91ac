/**
 * The call history as a domain-event observer: a call's record is started by the invitation that
 * created the call, marked connected by the join that connected it, and finished by its end
 * (store/call-records.ts). Each member's part has a row of its own: made by their invitation (or
 * join), answered, and ended with an outcome — rejected or busy, no_answer or cancelled when
 * missed (`offline` when they never had a session while it rang), left or disconnected when they
 * left early; the call's end closes the rest. With several devices per user (ring-all), the
 * answer records the device that took the call; the user API turns that into
 * `answered_elsewhere` for the user's other devices (store/call-history.ts), so no outcome here
 * is ever `answered_elsewhere`. Nothing here is needed for a call to work: the writes are queued,
 * not awaited, and a failed one is only logged.
 *
 * Layers: history/ → calls/events (types), store/ (types). The call layer does not know it.
 */
import { CallEndReason, MemberOutcome } from '@ringline/protocol';
import { CallEventType, type CallEvent, type CallObserver } from '../calls/events.js';
import type { Logger } from '../log.js';
import type { CallEnd, CallStart } from '../store/call-records.js';

/**
 * What the history observer writes to (`CallRecordStore`). The calls are not awaited, so the store
 * must apply them in the order they are made.
 */
export interface CallHistory {
  start(call: CallStart): Promise<unknown>;
  connected(callID: string, at?: number): Promise<unknown>;
  end(callID: string, end: CallEnd): Promise<unknown>;
  invited(
    callID: string,
    invitees: readonly string[],
    at: number,
    inviter?: string,
  ): Promise<unknown>;
  answered(callID: string, userID: string, at: number, deviceID?: string): Promise<unknown>;
  joined(callID: string, userID: string, at: number): Promise<unknown>;
  memberEnded(callID: string, userID: string, outcome: MemberOutcome, at: number): Promise<unknown>;
  membersClosed(callID: string, closing: MemberOutcome, at: number): Promise<unknown>;
}

/**
 * The outcome of those still in a call when it ends: `answered` once two users were in it;
 * otherwise the caller's part ended as the call did (nobody answered, they cancelled, or left).
 */
function closingOutcome(reason: CallEndReason, joined: readonly string[]): MemberOutcome {
  if (joined.length > 1) return MemberOutcome.ANSWERED;
  switch (reason) {
    case CallEndReason.CANCELLED:
      return MemberOutcome.CANCELLED;
    case CallEndReason.NO_ANSWER:
      return MemberOutcome.NO_ANSWER;
    case CallEndReason.HANGUP:
      return MemberOutcome.LEFT;
    default:
      return MemberOutcome.DISCONNECTED;
  }
}

/** An observer that writes each call's start, connect and end to `history`. */
export function historyObserver(history: CallHistory, log: Logger): CallObserver {
  const write = (e: CallEvent): Promise<unknown> | undefined => {
    switch (e.type) {
      case CallEventType.INVITED:
        if (!e.created) return history.invited(e.callID, e.invitees, e.time);
        // Queued before the members' rows, which copy the call's start from it.
        void history
          .start({
            callID: e.callID,
            roomID: e.roomID,
            sponsor: e.sponsor,
            groupID: e.groupID,
            callType: e.callType,
            media: e.media,
            startedAt: e.time,
          })
          .catch(failed(e));
        return history.invited(e.callID, e.invitees, e.time, e.inviter);
      case CallEventType.ANSWERED:
        return history.answered(e.callID, e.userID, e.time, e.deviceID);
      case CallEventType.REJECTED: {
        const outcome = e.reason === 'busy' ? MemberOutcome.BUSY : MemberOutcome.REJECTED;
        return history.memberEnded(e.callID, e.userID, outcome, e.time);
      }
      case CallEventType.MISSED: {
        const outcome =
          e.reason === 'cancelled'
            ? MemberOutcome.CANCELLED
            : e.offline
              ? MemberOutcome.OFFLINE
              : MemberOutcome.NO_ANSWER;
        return history.memberEnded(e.callID, e.userID, outcome, e.time);
      }
      case CallEventType.JOINED:
        void history.joined(e.callID, e.userID, e.time).catch(failed(e));
        return e.connected ? history.connected(e.callID, e.time) : undefined;
      case CallEventType.LEFT: {
        const outcome = e.reason === 'hangup' ? MemberOutcome.LEFT : MemberOutcome.DISCONNECTED;
        return history.memberEnded(e.callID, e.userID, outcome, e.time);
      }
      case CallEventType.ENDED:
        void history
          .membersClosed(e.callID, closingOutcome(e.reason, e.joined), e.time)
          .catch(failed(e));
        return history.end(e.callID, {
          reason: e.reason,
          members: e.joined,
          media: e.media,
          endedAt: e.time,
        });
      default:
        return undefined;
    }
  };
  const failed =
    (e: CallEvent) =>
    (err: unknown): void =>
      log.warn('writing the call history failed', { callID: e.callID, type: e.type, err });
  return (events) => {
    for (const e of events) write(e)?.catch(failed(e));
  };
}
