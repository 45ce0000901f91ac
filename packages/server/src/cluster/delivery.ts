/** Delivering a push to a user wherever their session lives. */
import type { MessageBus, PresenceStore, PushBody } from './types.js';
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
