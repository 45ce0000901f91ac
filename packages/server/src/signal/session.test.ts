import { describe, expect, test } from 'vitest';
import type { PushMessage } from '@ringline/protocol';
import { TokenBucket } from './rate-limit.js';
import { Session, type PushSink } from './session.js';

class Recorder implements PushSink {
  readonly got: PushMessage[] = [];
  sendPush(json: string): void {
    this.got.push(JSON.parse(json) as PushMessage);
  }
  get seqs(): number[] {
    return this.got.map((m) => m.seq);
  }
}

const leave = (n: number) => ({ type: 'userLeave' as const, callID: 'c', userID: `u${n}` });
const options = { outboxLimit: 4, rateLimit: { burst: 10, perSecond: 10 } };

describe('Session', () => {
  test('numbers pushes from 1 and writes them at once', () => {
    const sink = new Recorder();
    const s = new Session('alice', sink, options);
    s.push(leave(1));
    s.push(leave(2));
    expect(sink.seqs).toEqual([1, 2]);
    expect(s.seq).toBe(2);
  });

  test('holds pushes back while held, then writes them in order', () => {
    const sink = new Recorder();
    const s = new Session('alice', sink, options);
    s.hold();
    s.push(leave(1));
    s.push(leave(2));
    expect(sink.got).toEqual([]);
    s.release();
    expect(sink.seqs).toEqual([1, 2]);
  });

  test('replays what a new connection missed after lastSeq, and only that', () => {
    const first = new Recorder();
    const s = new Session('alice', first, options);
    s.push(leave(1));
    s.push(leave(2));
    s.detach(60_000, () => {});
    s.push(leave(3));
    expect(first.seqs).toEqual([1, 2]);
    expect(s.canResume(1)).toBe(true);
    const second = new Recorder();
    s.attach(second, 1);
    expect(second.seqs).toEqual([2, 3]);
    s.close();
  });

  test('cannot resume from before what was acknowledged or dropped, nor from the future', () => {
    const s = new Session('alice', new Recorder(), options);
    for (let n = 1; n <= 6; n++) s.push(leave(n));
    // Outbox limit 4: pushes 1 and 2 are gone.
    expect(s.buffered).toBe(4);
    expect(s.canResume(1)).toBe(false);
    expect(s.canResume(2)).toBe(true);
    s.ack(4);
    expect(s.buffered).toBe(2);
    expect(s.canResume(3)).toBe(false);
    expect(s.canResume(4)).toBe(true);
    expect(s.canResume(6)).toBe(true);
    expect(s.canResume(7)).toBe(false);
  });

  test('expires when not resumed within the window', async () => {
    const s = new Session('alice', new Recorder(), options);
    await new Promise<void>((resolve) => s.detach(10, resolve));
    expect(s.state).toBe('detached');
    s.close();
    expect(s.state).toBe('closed');
  });

  test('close() is idempotent, stops writing, and forbids resuming', () => {
    const sink = new Recorder();
    const s = new Session('alice', sink, options);
    s.close();
    s.close();
    s.push(leave(1));
    expect(sink.got).toEqual([]);
    expect(s.canResume(0)).toBe(false);
    expect(() => s.attach(sink, 0)).toThrow(/closed -> active is not allowed/);
  });
});

describe('TokenBucket', () => {
  test('allows the burst, then refills at the given rate', () => {
    let now = 0;
    const bucket = new TokenBucket({ burst: 3, perSecond: 2 }, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    now += 499;
    expect(bucket.take()).toBe(false);
    now += 1;
    expect(bucket.take()).toBe(true);
    now += 60_000;
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });
});

describe('Session with seqs from a shared outbox', () => {
  const body = (n: number) => JSON.stringify(leave(n));

  test('pushAt writes under the given seq and ignores a seq it already has', () => {
    const sink = new Recorder();
    const s = new Session('alice', sink, options);
    s.pushAt(1, body(1));
    s.pushAt(2, body(2));
    s.pushAt(2, body(2));
    expect(sink.seqs).toEqual([1, 2]);
    expect(sink.got[1]).toMatchObject({ type: 'userLeave', userID: 'u2', seq: 2 });
  });

  test('restore replays the outbox after the client’s last seq, merged with pushes that arrived meanwhile', () => {
    const sink = new Recorder();
    const s = new Session('alice', sink, { ...options, sessionID: 'sid-1' });
    expect(s.sessionID).toBe('sid-1');
    s.hold();
    // Published to this node while the take-over read the outbox: 7 twice (read and published).
    s.pushAt(7, body(7));
    s.pushAt(8, body(8));
    s.restore(
      [
        { seq: 6, json: body(6) },
        { seq: 7, json: body(7) },
      ],
      7,
    );
    s.attach(sink, 5);
    s.release();
    expect(sink.seqs).toEqual([6, 7, 8]);
    expect(s.seq).toBe(8);
    expect(s.canResume(5)).toBe(true);
  });

  test('restore with nothing missed resumes at the head', () => {
    const sink = new Recorder();
    const s = new Session('alice', sink, options);
    s.restore([], 12);
    s.attach(sink, 12);
    s.pushAt(13, body(13));
    expect(sink.seqs).toEqual([13]);
  });

  test('a gap (a push lost on the bus) is written past, not waited for', () => {
    const sink = new Recorder();
    const s = new Session('alice', sink, options);
    s.pushAt(1, body(1));
    s.pushAt(3, body(3));
    expect(sink.seqs).toEqual([1, 3]);
    // A new connection after seq 1 gets 3, found across the gap.
    const next = new Recorder();
    s.attach(next, 1);
    expect(next.seqs).toEqual([3]);
  });
});
