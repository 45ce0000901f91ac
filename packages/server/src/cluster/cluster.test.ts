import { afterEach, describe, expect, test } from 'vitest';
import { CallType } from '@ringline/protocol';
import { startTestServer, type TestServer } from '../testing/server.js';
import { createMemoryCluster, MemoryLockManager } from './memory.js';

/**
 * Two server nodes sharing one set of cluster adapters behave as one server: presence, calls,
 * invitations, timers and pushes all go through the adapters, never through a node's own memory.
 */
const opened: TestServer[] = [];
afterEach(async () => {
  for (const s of opened.splice(0).reverse()) await s.close();
});

async function twoNodes() {
  const cluster = createMemoryCluster();
  const shared = { sdkAppID: 1400000555, secretKey: 'cluster-key', cluster };
  const a = await startTestServer(shared);
  const b = await startTestServer(shared);
  opened.push(a, b);
  return { a, b, cluster };
}

describe('two nodes sharing in-memory adapters', () => {
  test('a call between users on different nodes works end to end', async () => {
    const { a, b } = await twoNodes();
    expect(a.port).not.toBe(b.port);
    const alice = await a.login('alice');
    const bob = await b.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.VIDEO,
    });
    expect(await bob.waitForPush('invited')).toMatchObject({ inviteID, sponsor: 'alice' });
    await bob.call('accept', { inviteID });
    await alice.waitForPush('userEnter');
    await alice.call('signal', {
      callID,
      to: 'bob',
      data: { description: { type: 'offer', sdp: 'o' } },
    });
    expect((await bob.waitForPush('signal')).from).toBe('alice');
    await bob.call('signal', {
      callID,
      to: 'alice',
      data: { description: { type: 'answer', sdp: 'a' } },
    });
    expect((await alice.waitForPush('signal')).from).toBe('bob');
    await bob.call('hangup', { callID });
    expect(await alice.waitForPush('callEnded')).toMatchObject({ reason: 'hangup' });
  });

  test('busy is detected across nodes, and a timeout set on one node is enforced', async () => {
    const { a, b } = await twoNodes();
    const alice = await a.login('alice');
    const bob = await b.login('bob');
    const carol = await b.login('carol');
    await alice.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO, timeout: 1 });
    await bob.waitForPush('invited');
    const second = await carol.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
    expect(await carol.waitForPush('lineBusy')).toMatchObject({
      inviteID: second.inviteID,
      userID: 'bob',
    });
    expect(await alice.waitForPush('noResponse')).toMatchObject({ userID: 'bob' });
    expect(await bob.waitForPush('inviteEnded')).toMatchObject({ reason: 'timeout' });
  });

  test('logging in on another node kicks the session on the first', async () => {
    const { a, b } = await twoNodes();
    const onA = await a.login('alice');
    const bob = await b.login('bob');
    const { inviteID } = await onA.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    await bob.call('accept', { inviteID });
    const onB = await b.login('alice');
    expect(await onA.waitForPush('kicked')).toMatchObject({ reason: 'duplicate_login' });
    expect((await onA.closed()).code).toBe(4001);
    expect(await bob.waitForPush('callEnded')).toMatchObject({ reason: 'disconnected' });
    // Pushes for alice now reach her on node b.
    await bob.call('invite', { userIDList: ['alice'], callType: CallType.AUDIO });
    await onB.waitForPush('invited');
  });

  test('closing one node ends its sessions for users on the other', async () => {
    const { a, b } = await twoNodes();
    const alice = await a.login('alice');
    const bob = await b.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    await bob.call('accept', { inviteID });
    await opened.shift()!.close();
    expect((await alice.closed()).code).toBe(1001);
    expect(await bob.waitForPush('userLeave')).toMatchObject({ callID, userID: 'alice' });
    expect(await bob.waitForPush('callEnded')).toMatchObject({ reason: 'disconnected' });
  });
});

describe('MemoryLockManager', () => {
  test('runs work on one key one at a time, in order, and other keys in parallel', async () => {
    const locks = new MemoryLockManager();
    const log: string[] = [];
    let releaseFirst!: () => void;
    const gate = new Promise<void>((r) => (releaseFirst = r));
    const first = locks.run('k', async () => {
      log.push('first:start');
      await gate;
      log.push('first:end');
    });
    const second = locks.run('k', async () => {
      log.push('second');
    });
    const other = locks.run('other', async () => {
      log.push('other');
    });
    await other;
    expect(log).toEqual(['first:start', 'other']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(log).toEqual(['first:start', 'other', 'first:end', 'second']);
  });

  test('a failing holder releases the lock', async () => {
    const locks = new MemoryLockManager();
    await expect(locks.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(await locks.run('k', async () => 'next')).toBe('next');
  });
});
