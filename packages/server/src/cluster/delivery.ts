/** Delivering a push to a user wherever their session lives. */
import type { MessageBus, PresenceStore, PushBody } from './types.js';

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
