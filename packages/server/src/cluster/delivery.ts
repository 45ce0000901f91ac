/** Delivering a push to a user wherever their session lives. */
import type { MessageBus, PresenceStore, PushBody, SharedSessions } from './types.js';
import type { Logger } from '../log.js';

/** Sends `push` to the node holding `userID`'s session; a user without a session misses it. */
export type DeliverFn = (userID: string, push: PushBody) => Promise<boolean>;

export function createDelivery(presence: PresenceStore, bus: MessageBus): DeliverFn {
  return async (userID, push) => {
    const where = await presence.get(userID);
    if (!where) return false;
    await bus.send(where.nodeID, { kind: 'push', userID, sessionID: where.sessionID, push });
    return true;
  };
}

/**
 * Delivery through sessions' shared outboxes (Redis): one atomic step finds the session, keeps
 * the push for a resume on any node, and publishes it to the session's node.
 */
export function createSharedDelivery(sessions: SharedSessions): DeliverFn {
  return (userID, push) => sessions.deliver(userID, JSON.stringify(push));
}

/**
 * `deliver` for pushes that follow a committed change: a recipient that cannot be reached is
 * logged, never an error, so that it cannot undo the change for everyone else.
 */
export function deliverOrLog(
  deliver: DeliverFn,
  log: Pick<Logger, 'warn'>,
): (userID: string, push: PushBody) => Promise<void> {
  return async (userID, push) => {
    try {
      await deliver(userID, push);
    } catch (err) {
      log.warn('push delivery failed', { userID, type: push.type, err });
    }
  };
}
