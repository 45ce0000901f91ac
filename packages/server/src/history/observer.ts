/**
 * The call history as a domain-event observer: a call's record is started by the invitation that
 * created the call, marked connected by the join that connected it, and finished by its end
 * (store/call-records.ts). Nothing here is needed for a call to work: the writes are queued, not
 * awaited, and a failed one is only logged.
 *
 * Layers: history/ → calls/events (types), store/ (types). The call layer does not know it.
 */
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
}

/** An observer that writes each call's start, connect and end to `history`. */
export function historyObserver(history: CallHistory, log: Logger): CallObserver {
  const write = (e: CallEvent): Promise<unknown> | undefined => {
    switch (e.type) {
      case CallEventType.INVITED:
        if (!e.created) return undefined;
        return history.start({
          callID: e.callID,
          roomID: e.roomID,
          sponsor: e.sponsor,
          groupID: e.groupID,
          callType: e.callType,
          media: e.media,
          startedAt: e.time,
        });
      case CallEventType.JOINED:
        return e.connected ? history.connected(e.callID, e.time) : undefined;
      case CallEventType.ENDED:
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
  return (events) => {
    for (const e of events) {
      write(e)?.catch((err: unknown) =>
        log.warn('writing the call history failed', { callID: e.callID, err }),
      );
    }
  };
}
