import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openStore, type Store } from './store.js';

let store: Store;
let dataDir: string;
beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ringline-calls-'));
  store = await openStore({ dataDir });
});
afterEach(async () => {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const call = {
  callID: 'c1',
  roomID: 4242,
  sponsor: 'alice',
  callType: 2,
  media: 'p2p',
  startedAt: 1000,
} as const;

describe('CallRecordStore', () => {
  test('start() records the call with the sponsor as its first member', async () => {
    await store.callRecords.start(call);
    expect(await store.callRecords.get('c1')).toEqual({
      callID: 'c1',
      roomID: 4242,
      sponsor: 'alice',
      callType: 2,
      media: 'p2p',
      startedAt: 1000,
      members: ['alice'],
    });
  });

  test('a group call keeps its groupID and given members', async () => {
    await store.callRecords.start({ ...call, groupID: 'team', media: 'sfu', members: ['alice'] });
    expect(await store.callRecords.get('c1')).toMatchObject({ groupID: 'team', media: 'sfu' });
  });

  test('connected() marks the first connection only', async () => {
    await store.callRecords.start(call);
    expect(await store.callRecords.connected('c1', 2000)).toBe(true);
    expect(await store.callRecords.connected('c1', 3000)).toBe(false);
    expect((await store.callRecords.get('c1'))?.connectedAt).toBe(2000);
  });

  test('end() finishes the record once, with reason, members and final media', async () => {
    await store.callRecords.start(call);
    const end = { reason: 'hangup', members: ['alice', 'bob', 'carol'], media: 'sfu' } as const;
    expect(await store.callRecords.end('c1', { ...end, endedAt: 5000 })).toBe(true);
    expect(await store.callRecords.end('c1', { reason: 'disconnected', endedAt: 6000 })).toBe(
      false,
    );
    expect(await store.callRecords.get('c1')).toMatchObject({
      endedAt: 5000,
      endReason: 'hangup',
      media: 'sfu',
      members: ['alice', 'bob', 'carol'],
    });
  });

  test('end() without members keeps the stored list', async () => {
    await store.callRecords.start(call);
    await store.callRecords.end('c1', { reason: 'cancelled' });
    const record = await store.callRecords.get('c1');
    expect(record?.members).toEqual(['alice']);
    expect(record?.endReason).toBe('cancelled');
    expect(record?.endedAt).toBeGreaterThan(0);
    expect(record?.connectedAt).toBeUndefined();
  });

  test('end() of an unknown call resolves false and get() undefined', async () => {
    expect(await store.callRecords.end('nope', { reason: 'hangup' })).toBe(false);
    expect(await store.callRecords.get('nope')).toBeUndefined();
  });

  test('start() twice with one callID rejects and keeps the first', async () => {
    await store.callRecords.start(call);
    await expect(store.callRecords.start({ ...call, sponsor: 'mallory' })).rejects.toThrow(
      /UNIQUE|PRIMARY/i,
    );
    expect((await store.callRecords.get('c1'))?.sponsor).toBe('alice');
  });

  test('records survive a restart', async () => {
    await store.callRecords.start(call);
    await store.close();
    store = await openStore({ dataDir });
    expect((await store.callRecords.get('c1'))?.sponsor).toBe('alice');
  });

  test('writes made together commit together, and a failing one fails only itself', async () => {
    const records = store.callRecords;
    // All issued in one turn of the event loop: one group commit.
    const results = await Promise.allSettled([
      records.start(call),
      records.start({ ...call, callID: 'c2' }),
      records.start(call), // the same callID again: refused
      records.connected('c1', 1500),
      records.end('c2', { reason: 'no_answer', endedAt: 1600 }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect(await records.get('c1')).toMatchObject({ connectedAt: 1500 });
    expect(await records.get('c2')).toMatchObject({ endedAt: 1600, endReason: 'no_answer' });
  });

  test('get() sees the writes made before it, even those not yet committed', async () => {
    const records = store.callRecords;
    const writes = [records.start(call), records.end('c1', { reason: 'hangup', endedAt: 1700 })];
    expect(await records.get('c1')).toMatchObject({ endedAt: 1700, endReason: 'hangup' });
    await Promise.all(writes);
  });

  test('close() waits for writes still queued', async () => {
    const pending = store.callRecords.start(call);
    await store.close();
    await pending;
    store = await openStore({ dataDir });
    expect(await store.callRecords.get('c1')).toMatchObject({ callID: 'c1' });
  });
});
