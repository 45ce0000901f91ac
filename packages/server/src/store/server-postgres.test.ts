/**
 * Servers on one Postgres, as the nodes of a cluster share it: each node's calls are recorded under
 * its node ID, and a node that starts again closes only the calls it left open.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { CallType } from '@ringline/protocol';
import { startTestServer, type TestServer } from '../testing/server.js';
import { postgresBackend, type StoreTarget } from '../testing/store-backends.js';
import { openStore, type Store } from './index.js';

const backend = postgresBackend();

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  // Servers before the stores that watch them.
  for (const o of opened.splice(0).reverse()) await o.close();
});

async function node(target: StoreTarget, nodeID: string): Promise<TestServer> {
  const server = await startTestServer({ database: target.database!, nodeID });
  opened.push(server);
  return server;
}

/** A store on the same database, as an operator's report would open it. */
async function watch(target: StoreTarget): Promise<Store> {
  const store = await openStore(target);
  opened.unshift(store);
  return store;
}

/** alice calls bob on `server` and bob answers; resolves with the call's ID and the caller. */
async function connectedCall(server: TestServer, alice: string, bob: string) {
  const caller = await server.login(alice);
  const callee = await server.login(bob);
  const { inviteID, callID } = await caller.call('invite', {
    userIDList: [bob],
    callType: CallType.AUDIO,
  });
  await callee.waitForPush('invited');
  await callee.call('accept', { inviteID });
  return { callID, caller };
}

describe('servers sharing a Postgres store', () => {
  test("each node's calls are recorded in Postgres under its node ID", async () => {
    const target = await backend.fresh();
    const a = await node(target, 'node-a');
    const store = await watch(target);
    const { callID, caller } = await connectedCall(a, 'alice', 'bob');
    await caller.call('hangup', { callID });
    await expect.poll(() => store.callRecords.get(callID)).toMatchObject({ endReason: 'hangup' });
    expect(await store.callRecords.get(callID)).toMatchObject({
      nodeID: 'node-a',
      sponsor: 'alice',
      members: ['alice', 'bob'],
    });
  });

  test("a node that starts again closes the calls it left open, not another node's live call", async () => {
    const target = await backend.fresh();
    // What node-a left behind when it was killed mid-call.
    const dead = await openStore({ ...target, nodeID: 'node-a' });
    await dead.callRecords.start({
      callID: 'left-open',
      roomID: 1,
      sponsor: 'carol',
      callType: CallType.AUDIO,
      media: 'p2p',
      startedAt: Date.now() - 60_000,
    });
    await dead.close();
    const b = await node(target, 'node-b');
    const { callID: live, caller } = await connectedCall(b, 'alice', 'bob');
    const store = await watch(target);
    await expect.poll(() => store.callRecords.get(live)).toHaveProperty('connectedAt');

    await node(target, 'node-a');
    expect(await store.callRecords.get('left-open')).toMatchObject({
      endReason: 'server_restart',
    });
    expect(await store.callRecords.get(live)).not.toHaveProperty('endedAt');
    // node-b's call goes on and ends as usual.
    await caller.call('hangup', { callID: live });
    await expect.poll(() => store.callRecords.get(live)).toMatchObject({ endReason: 'hangup' });
  });
});
