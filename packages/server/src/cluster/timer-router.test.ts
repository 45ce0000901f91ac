import { describe, expect, test } from 'vitest';
import { waitFor } from './conformance/index.js';
import { MemoryScheduler } from './memory.js';
import { TimerRouter } from './timer-router.js';

/**
 * Two nodes' routers over one scheduler: a node that stops unsubscribes its owners one after the
 * other (sessions handed over first, its calls after), and a key that comes due in between must
 * reach the other node, not vanish.
 */
describe('TimerRouter', () => {
  test('a key whose owner left, while another owner still takes keys here, goes to another node', async () => {
    const scheduler = new MemoryScheduler();
    // Node A's view of the scheduler, counting what it arms.
    let armedByA = 0;
    const a = new TimerRouter({
      schedule: (key, delayMs) => (armedByA++, scheduler.schedule(key, delayMs)),
      cancel: (key) => scheduler.cancel(key),
      subscribe: (handler) => scheduler.subscribe(handler),
    });
    const b = new TimerRouter(scheduler);
    const onA: string[] = [];
    const onB: string[] = [];
    const stopSessionsA = a.view('session').subscribe((k) => void onA.push(k));
    const stopInvitesA = a.view('invite').subscribe(() => undefined);
    b.view('session').subscribe((k) => void onB.push(k));
    b.view('invite').subscribe(() => undefined);

    stopSessionsA();
    await a.view('session').schedule('session:s1:alice', 0);
    // Node A, still taking due keys (its invitations), gets it first: it arms it again.
    await waitFor(async () => armedByA >= 2, 'node A to arm the key again');
    stopInvitesA();
    await waitFor(async () => onB.length === 1, 'the key to reach node B');
    expect(onB).toEqual(['session:s1:alice']);
    expect(onA).toEqual([]);
  });
});
