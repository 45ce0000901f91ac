import { describe, expect, it } from 'vitest';
import { AwaitQueue } from './AwaitQueue.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('AwaitQueue', () => {
  it('runs tasks one at a time in push order', async () => {
    const q = new AwaitQueue();
    const log: string[] = [];
    const gate = deferred();
    const first = q.push('first', async () => {
      log.push('first start');
      await gate.promise;
      log.push('first end');
      return 1;
    });
    const second = q.push('second', async () => {
      log.push('second');
      return 2;
    });
    await Promise.resolve();
    expect(log).toEqual(['first start']);
    gate.resolve();
    expect(await first).toBe(1);
    expect(await second).toBe(2);
    expect(log).toEqual(['first start', 'first end', 'second']);
  });

  it('a failing task rejects its own promise and the next one still runs', async () => {
    const q = new AwaitQueue();
    const failed = q.push('bad', async () => {
      throw new Error('nope');
    });
    const next = q.push('good', async () => 'ok');
    await expect(failed).rejects.toThrow('nope');
    await expect(next).resolves.toBe('ok');
    expect(q.size).toBe(0);
  });

  it('close() rejects waiting tasks, lets the running one finish, refuses new ones', async () => {
    const q = new AwaitQueue();
    const gate = deferred();
    const running = q.push('running', async () => {
      await gate.promise;
      return 'done';
    });
    const waiting = q.push('waiting', async () => 'never');
    q.close();
    q.close();
    await expect(waiting).rejects.toMatchObject({ code: 40902 });
    await expect(q.push('late', async () => 1)).rejects.toMatchObject({ code: 40902 });
    gate.resolve();
    await expect(running).resolves.toBe('done');
  });
});
