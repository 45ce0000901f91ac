/**
 * One log line per thing an operator asks about a call: each call created, each invitee's answer
 * or miss, each call's end — with the call's ID, so that `grep <callID>` tells its story. Joins and
 * leaves are debug lines. An observer of the calls' domain events (calls/events.ts).
 */
import { CallEventType, type CallObserver } from '../calls/events.js';
import type { Logger } from '../log.js';

export function callLogObserver(log: Logger): CallObserver {
  return (events) => {
    for (const e of events) {
      const { callID } = e;
      switch (e.type) {
        case CallEventType.INVITED:
          log.info(e.created ? 'call: created' : 'call: more invited', {
            callID,
            inviteID: e.inviteID,
            inviter: e.inviter,
            invitees: e.invitees,
            callType: e.callType,
            media: e.media,
            ...(e.groupID !== undefined && { groupID: e.groupID }),
            ...(e.offline.length && { offline: e.offline }),
          });
          break;
        case CallEventType.ANSWERED:
          log.info('invitation: answered', { callID, inviteID: e.inviteID, userID: e.userID });
          break;
        case CallEventType.REJECTED:
          log.info(`invitation: ${e.reason}`, { callID, inviteID: e.inviteID, userID: e.userID });
          break;
        case CallEventType.MISSED:
          log.info(`invitation: missed (${e.offline ? 'offline' : e.reason})`, {
            callID,
            inviteID: e.inviteID,
            userID: e.userID,
          });
          break;
        case CallEventType.JOINED:
          log.debug('call: joined', { callID, userID: e.userID });
          break;
        case CallEventType.LEFT:
          log.debug('call: left', { callID, userID: e.userID, reason: e.reason });
          break;
        case CallEventType.ENDED:
          log.info('call: ended', {
            callID,
            reason: e.reason,
            media: e.media,
            members: e.joined,
            durationS:
              e.connectedAt === undefined ? 0 : Math.round((e.time - e.connectedAt) / 1000),
          });
          break;
      }
    }
  };
}
