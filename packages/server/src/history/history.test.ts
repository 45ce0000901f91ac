import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CallType } from '@ringline/protocol';
import { openStore, type Store } from '../store/index.js';
import { startTestServer, type TestServer } from '../testing/server.js';

let server: TestServer;
let store: Store;
beforeEach(async () => {
  server = await startTestServer();
  // A second connection to the server's own SQLite file, as an operator's report would open it.
  store = await openStore({ dataDir: server.dataDir });
});
afterEach(async () => {
  await store.close();
  await server.close();
});

describe('call history', () => {
  test('a call that connected is recorded with its members, connect time and end reason', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const before = Date.now();
    const { inviteID, callID, roomID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.VIDEO,
    });
    await bob.waitForPush('invited');
    await bob.call('accept', { inviteID });
    await alice.call('hangup', { callID });
    await bob.waitForPush('callEnded');

    // The server commits its history in batches, a few milliseconds behind the calls.
    await expect.poll(() => store.callRecords.get(callID)).toMatchObject({ endReason: 'hangup' });
    const record = await store.callRecords.get(callID);
    expect(record).toMatchObject({
      callID,
      roomID,
      sponsor: 'alice',
      callType: CallType.VIDEO,
      media: 'p2p',
      endReason: 'hangup',
      members: ['alice', 'bob'],
    });
    expect(record!.startedAt).toBeGreaterThanOrEqual(before);
    expect(record!.connectedAt).toBeGreaterThanOrEqual(record!.startedAt);
    expect(record!.endedAt).toBeGreaterThanOrEqual(record!.connectedAt!);
  });

  test('a rejected call is recorded as never connected, ended for no answer', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    await bob.waitForPush('invited');
    await bob.call('reject', { inviteID });
    await alice.waitForPush('callEnded');

    await expect.poll(() => store.callRecords.get(callID)).toHaveProperty('endReason');
    const record = await store.callRecords.get(callID);
    expect(record).toMatchObject({ endReason: 'no_answer', members: ['alice'] });
    expect(record!.connectedAt).toBeUndefined();
    expect(record!.endedAt).toBeGreaterThanOrEqual(record!.startedAt);
  });

  test('a call in progress has a record without an end', async () => {
    const alice = await server.login('alice');
    await server.login('bob');
    const { callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    await expect.poll(() => store.callRecords.get(callID)).toBeDefined();
    const record = await store.callRecords.get(callID);
    expect(record).toMatchObject({ sponsor: 'alice', members: ['alice'] });
    expect(record!.endedAt).toBeUndefined();
    await alice.call('hangup', { callID });
  });
});
