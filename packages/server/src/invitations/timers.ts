/**
 * Invitation timeouts on the cluster's Scheduler: server-owned, by invitation, so that any node can
 * stop what another armed and a timeout fires once in the cluster.
 */
import type { Scheduler, Unsubscribe } from '../cluster/types.js';

const PREFIX = 'invite:';

/** The scheduler key of an invitation's timeout. */
export const timerKey = (inviteID: string): string => `${PREFIX}${inviteID}`;

export class InvitationTimers {
  constructor(private readonly scheduler: Scheduler) {}

  arm(inviteID: string, delayMs: number): Promise<void> {
    return this.scheduler.schedule(timerKey(inviteID), delayMs);
  }
  cancel(inviteID: string): Promise<void> {
    return this.scheduler.cancel(timerKey(inviteID));
  }
  /** Calls `handler` with the invitation whose timeout fired (other keys are someone else's). */
  subscribe(handler: (inviteID: string) => Promise<void>): Unsubscribe {
    return this.scheduler.subscribe((key) =>
      key.startsWith(PREFIX) ? handler(key.slice(PREFIX.length)) : undefined,
    );
  }
}
