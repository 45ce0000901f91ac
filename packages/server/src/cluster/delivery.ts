/** Delivering a push to a user wherever their session lives. */
import { deviceKey, parseDeviceKey } from './keys.js';
import type { DeviceStore, MessageBus, PresenceStore, PushBody, SharedSessions } from './types.js';
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
 * `--multi-device ring-all` over `toDevice` (createDelivery or createSharedDelivery, whose
 * presence and sessions are keyed by `deviceKey`): a push for a user goes to the device in their
 * call if one is (about that call, even once it ended), else to every device (an invitation
 * rings them all); a push addressed to a
 * `deviceKey` goes to that device alone. One more read per push (the device index); `kick` mode
 * does not wrap its delivery at all.
 */
export function createDeviceDelivery(devices: DeviceStore, toDevice: DeliverFn): DeliverFn {
  return async (target, push) => {
    if (parseDeviceKey(target)) return toDevice(target, push);
    const { sessionIDs, active } = await devices.get(target);
    const callID = 'callID' in push ? push.callID : undefined;
    // A call's pushes go to the device in it (its last ones too, after the user left it).
    const to =
      active && (active.callID === callID || !active.released) ? [active.sessionID] : sessionIDs;
    const reached = await Promise.all(to.map((sid) => toDevice(deviceKey(target, sid), push)));
    return reached.includes(true);
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
