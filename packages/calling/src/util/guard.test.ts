import { describe, expect, it } from 'vitest';
import { guard } from './guard.js';

describe('guard', () => {
  it('passes the value through when it comes in time', async () => {
    await expect(
      guard(Promise.resolve(4), { ms: 1000, onTimeout: () => new Error('t') }),
    ).resolves.toBe(4);
  });

  it('fails with onTimeout() when the time is up, and hands a late value to onLate', async () => {
    let release!: (v: string) => void;
    const slow = new Promise<string>((r) => (release = r));
    const late: string[] = [];
    await expect(
      guard(slow, { ms: 10, onTimeout: () => new Error('too slow'), onLate: (v) => late.push(v) }),
    ).rejects.toThrow('too slow');
    release('track');
    await slow;
    expect(late).toEqual(['track']);
  });

  it('fails with the abort reason as soon as the signal aborts (or already had)', async () => {
    const controller = new AbortController();
    const pending = guard(new Promise(() => {}), {
      ms: 10_000,
      signal: controller.signal,
      onTimeout: () => new Error('t'),
    });
    controller.abort(new Error('hung up'));
    await expect(pending).rejects.toThrow('hung up');
    await expect(
      guard(Promise.resolve(1), {
        ms: 10,
        signal: controller.signal,
        onTimeout: () => new Error('t'),
      }),
    ).rejects.toThrow('hung up');
  });

  it('passes a rejection through', async () => {
    await expect(
      guard(Promise.reject(new Error('denied')), { ms: 1000, onTimeout: () => new Error('t') }),
    ).rejects.toThrow('denied');
  });
});
