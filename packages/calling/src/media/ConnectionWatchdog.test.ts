import { describe, expect, it } from 'vitest';
import { ManualClock } from '../test-support/manualClock.test-support.js';
import { createLogger } from '../util/logger.js';
import { ConnectionWatchdog, defaultConnectionTimings, WatchState } from './ConnectionWatchdog.js';

const log = createLogger('silent');

function watch(timings = {}) {
  const clock = new ManualClock();
  const restarts: number[] = [];
  const failures: { at: number; reason: string }[] = [];
  const recoveries: number[] = [];
  const dog = new ConnectionWatchdog(
    'test',
    {
      restart: () => restarts.push(clock.now),
      fail: (reason) => failures.push({ at: clock.now, reason }),
      recovered: () => recoveries.push(clock.now),
    },
    log,
    timings,
    clock,
  );
  return { clock, dog, restarts, failures, recoveries };
}

describe('ConnectionWatchdog', () => {
  describe('a connection that connects', () => {
    it('is connected, restarts nothing and leaves no timer behind', () => {
      const { clock, dog, restarts, failures } = watch();
      dog.update('connecting');
      clock.advance(500);
      dog.update('connected');
      expect(dog.state).toBe(WatchState.Connected);
      expect(dog.down).toBe(false);
      clock.advance(120_000);
      expect(restarts).toEqual([]);
      expect(failures).toEqual([]);
      expect(clock.pending).toBe(0);
    });

    it('a short disconnected blip (under the grace time) restarts nothing, and is reported recovered', () => {
      const { clock, dog, restarts, recoveries } = watch();
      dog.update('connected');
      expect(recoveries).toEqual([]);
      dog.update('disconnected');
      clock.advance(defaultConnectionTimings.disconnectedGraceMs - 100);
      dog.update('connected');
      clock.advance(60_000);
      expect(restarts).toEqual([]);
      expect(recoveries).toEqual([1_400]);
      expect(dog.state).toBe(WatchState.Connected);
    });
  });

  describe('a connection that loses its path', () => {
    it('disconnected past the grace time: restarts, retries with backoff, and is connected again', () => {
      const { clock, dog, restarts, failures, recoveries } = watch();
      dog.update('connected');
      dog.update('disconnected');
      clock.advance(1_500);
      expect(dog.state).toBe(WatchState.Recovering);
      expect(dog.down).toBe(true);
      clock.advance(5_000);
      // At the loss (1.5 s), then after 1 s, then every 2 s (the cap).
      expect(restarts).toEqual([1_500, 2_500, 4_500, 6_500]);
      dog.update('connected');
      expect(dog.state).toBe(WatchState.Connected);
      expect(dog.down).toBe(false);
      expect(recoveries).toEqual([6_500]);
      clock.advance(60_000);
      expect(restarts).toHaveLength(4);
      expect(failures).toEqual([]);
    });

    it('failed restarts at once, without waiting for the grace time', () => {
      const { clock, dog, restarts } = watch();
      clock.advance(100);
      dog.update('connected');
      dog.update('failed');
      expect(dog.state).toBe(WatchState.Recovering);
      expect(restarts).toEqual([100]);
    });

    it('the backoff starts over after a recovery', () => {
      const { clock, dog, restarts } = watch({ disconnectedGraceMs: 0 });
      dog.update('connected');
      dog.update('failed');
      clock.advance(3_000);
      dog.update('connected');
      restarts.length = 0;
      dog.update('failed');
      clock.advance(1_000);
      expect(restarts.map((t) => t - restarts[0]!)).toEqual([0, 1_000]);
    });

    it('not back within the recovery time: fails once, and restarts no more', () => {
      const { clock, dog, restarts, failures } = watch({ recoveryTimeoutMs: 10_000 });
      dog.update('connected');
      clock.advance(1_000);
      dog.update('failed');
      clock.advance(30_000);
      expect(failures).toEqual([{ at: 11_000, reason: expect.stringContaining('10000') }]);
      expect(dog.state).toBe(WatchState.Failed);
      const made = restarts.length;
      dog.update('connected');
      clock.advance(30_000);
      expect(restarts).toHaveLength(made);
      expect(dog.state).toBe(WatchState.Failed);
      expect(clock.pending).toBe(0);
    });
  });

  describe('a connection whose media stops while it still reports connected (suspect)', () => {
    it('restarts at once, retries with backoff, and stops once the media flows again', () => {
      const { clock, dog, restarts, failures, recoveries } = watch();
      dog.update('connected');
      clock.advance(1_000);
      dog.suspect();
      dog.suspect(); // once is enough
      expect(dog.suspected).toBe(true);
      expect(dog.state).toBe(WatchState.Connected);
      expect(dog.down).toBe(false);
      clock.advance(3_000);
      expect(restarts).toEqual([1_000, 2_000, 4_000]);
      expect(dog.cleared()).toBe(true);
      expect(recoveries).toEqual([4_000]);
      expect(dog.cleared()).toBe(false);
      clock.advance(60_000);
      expect(restarts).toHaveLength(3);
      expect(failures).toEqual([]);
      expect(clock.pending).toBe(0);
    });

    it('never fails by itself: retries stop after the recovery time, the suspicion stays', () => {
      const { clock, dog, restarts, failures } = watch({ recoveryTimeoutMs: 5_000 });
      dog.update('connected');
      dog.suspect();
      clock.advance(60_000);
      expect(restarts).toEqual([0, 1_000, 3_000]);
      expect(failures).toEqual([]);
      expect(dog.state).toBe(WatchState.Connected);
      expect(dog.suspected).toBe(true);
      expect(clock.pending).toBe(0);
    });

    it('a real loss meanwhile is handled as a loss (recovering, and failing in time)', () => {
      const { clock, dog, failures } = watch({ recoveryTimeoutMs: 5_000 });
      dog.update('connected');
      dog.suspect();
      dog.update('failed');
      expect(dog.state).toBe(WatchState.Recovering);
      expect(dog.suspected).toBe(false);
      clock.advance(5_000);
      expect(failures).toHaveLength(1);
    });

    it('is ignored while not connected (connecting or recovering have their own restarts)', () => {
      const { dog, restarts } = watch();
      dog.suspect();
      expect(dog.suspected).toBe(false);
      expect(restarts).toEqual([]);
      dog.update('connected');
      dog.update('failed');
      dog.suspect();
      expect(dog.suspected).toBe(false);
      expect(restarts).toEqual([0]);
    });
  });

  describe('a connection that never connects', () => {
    it('restarts after connectRestartMs and fails at connectTimeoutMs', () => {
      const { clock, dog, restarts, failures } = watch();
      dog.update('connecting');
      clock.advance(9_999);
      expect(restarts).toEqual([]);
      expect(dog.down).toBe(false);
      clock.advance(1);
      expect(restarts[0]).toBe(10_000);
      expect(dog.down).toBe(true);
      clock.advance(30_000);
      expect(failures).toEqual([
        { at: 30_000, reason: expect.stringContaining('never connected') },
      ]);
      expect(dog.state).toBe(WatchState.Failed);
    });

    it('failed before the restart time restarts at once', () => {
      const { clock, dog, restarts } = watch();
      clock.advance(2_000);
      dog.update('failed');
      expect(restarts).toEqual([2_000]);
    });

    it('with no restart yet at the deadline, restarts once more before failing', () => {
      const { clock, restarts, failures } = watch({
        connectRestartMs: 60_000,
        connectTimeoutMs: 5_000,
      });
      clock.advance(5_000);
      expect(restarts).toEqual([5_000]);
      expect(failures).toEqual([]);
      clock.advance(defaultConnectionTimings.maxRestartIntervalMs);
      expect(failures).toHaveLength(1);
    });

    it('connecting late (after a restart) is connected', () => {
      const { clock, dog, failures } = watch();
      clock.advance(15_000);
      dog.update('connected');
      clock.advance(60_000);
      expect(dog.state).toBe(WatchState.Connected);
      expect(failures).toEqual([]);
    });
  });

  describe('close', () => {
    it('stops every timer, is idempotent, and ignores later states', () => {
      const { clock, dog, restarts, failures } = watch();
      dog.update('connected');
      dog.update('failed');
      dog.close();
      dog.close();
      expect(dog.state).toBe(WatchState.Closed);
      expect(clock.pending).toBe(0);
      dog.update('failed');
      clock.advance(60_000);
      expect(restarts).toHaveLength(1);
      expect(failures).toEqual([]);
    });

    it('a restart hook that throws is logged and retried', () => {
      const clock = new ManualClock();
      let calls = 0;
      const dog = new ConnectionWatchdog(
        'test',
        {
          restart: () => {
            calls++;
            throw new Error('no');
          },
          fail: () => {},
        },
        log,
        {},
        clock,
      );
      dog.update('connected');
      dog.update('failed');
      clock.advance(1_000);
      expect(calls).toBe(2);
      dog.close();
    });
  });
});
