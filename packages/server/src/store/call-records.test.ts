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

  test('closeInterrupted() closes every open record with server_restart, once', async () => {
    const records = store.callRecords;
    await records.start(call);
    await records.start({ ...call, callID: 'c2', startedAt: 2000 });
    await records.connected('c2', 9000);
    await records.start({ ...call, callID: 'c3' });
    await records.end('c3', { reason: 'hangup', endedAt: 1200 });
    expect(await records.closeInterrupted(5000)).toBe(2);
    expect(await records.get('c1')).toMatchObject({ endedAt: 5000, endReason: 'server_restart' });
    // Never before what the record itself knows (a clock that went back).
    expect(await records.get('c2')).toMatchObject({ endedAt: 9000, endReason: 'server_restart' });
    expect(await records.get('c3')).toMatchObject({ endedAt: 1200, endReason: 'hangup' });
    expect(await records.closeInterrupted(6000)).toBe(0);
  });

  test('openStore({recover}) closes what a stopped server left open, at its last write', async () => {
    await store.callRecords.start({ ...call, startedAt: Date.now() - 60_000 });
    await store.close();
    const before = Date.now();
    store = await openStore({ dataDir });
    expect(store.recovered).toBe(0);
    expect((await store.callRecords.get('c1'))?.endedAt).toBeUndefined();
    await store.close();
    store = await openStore({ dataDir, recover: true });
    expect(store.recovered).toBe(1);
    const record = await store.callRecords.get('c1');
    expect(record?.endReason).toBe('server_restart');
    // The last write was the record's start (or the open without recover): not the restart.
    expect(record?.endedAt).toBeLessThanOrEqual(before + 1000);
  });

  test('a write is committed at the end of the event-loop turn it was made in, not later', async () => {
    void store.callRecords.start(call);
    // Queued after the group commit's own setImmediate, so it runs after that commit.
    await new Promise((r) => setImmediate(r));
    const row = await store.db
      .selectFrom('call_records')
      .select('call_id')
      .where('call_id', '=', 'c1')
      .executeTakeFirst();
    expect(row).toEqual({ call_id: 'c1' });
  });

  test('failed writes are dropped and counted', async () => {
    const records = store.callRecords;
    await records.start(call);
    expect(records.failedWrites).toBe(0);
    await expect(records.start(call)).rejects.toThrow(/UNIQUE|PRIMARY/i);
    expect(records.failedWrites).toBe(1);
  });

  test('writes made during another transaction commit after it, in order, and not inside it', async () => {
    const records = store.callRecords;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // A group change that is still open (awaiting) when the history's turn comes, then fails.
    const other = store.db.transaction().execute(async (tx) => {
      await tx.insertInto('groups').values({ group_id: 'g', name: '', created_at: 1 }).execute();
      await held;
      throw new Error('the group change fails');
    });
    const writes = [records.start(call), records.end('c1', { reason: 'hangup', endedAt: 1700 })];
    await new Promise((r) => setImmediate(r));
    release();
    await expect(other).rejects.toThrow(/group change fails/);
    await Promise.all(writes);
    expect(await records.get('c1')).toMatchObject({ endedAt: 1700, endReason: 'hangup' });
    expect(await store.db.selectFrom('groups').selectAll().execute()).toEqual([]);
  });
});
