/**
 * Webhooks from two server nodes sharing a real Redis (calls) and a real Postgres (the outbox): a
 * call whose events happen on both nodes is delivered once per event, numbered 1, 2, 3… across
 * the nodes and in that order; a login on one node that kicks a session on the other is one
 * `user.kicked`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CallType } from '@ringline/protocol';
import { openStore } from '../store/index.js';
import { startRedis, type TestRedis } from '../testing/redis.js';
import { startRedisTestServers } from '../testing/server.js';
import { postgresBackend } from '../testing/store-backends.js';
import { startReceiver, waitUntil } from '../testing/webhook-receiver.js';
import type { WebhookEvent } from './events.js';
import { verifyWebhook } from './signing.js';

const SECRET = 'whsec_0123456789abcdef';
const postgres = postgresBackend();
let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
const opened: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

describe('webhooks from two nodes', () => {
  it('number a call’s events across nodes and deliver each once, in order', async () => {
    const receiver = await startReceiver();
    opened.push({ close: () => receiver.down() });
    await receiver.set('ok');
    const { database } = await postgres.fresh();
    // One database, one Redis prefix: one app on two nodes (no calls yet, so one node ID will do).
    const [a, b] = await startRedisTestServers(redis.url, 2, {
      sdkAppID: 1400000777,
      secretKey: 'redis-cluster-key',
      database: database!,
      webhooks: [{ url: receiver.url, secret: SECRET }],
      webhookDelivery: { pollMs: 20, gapMs: 200 },
    });
    opened.push(a!, b!);

    const alice = await a!.login('alice');
    const bob = await b!.login('bob');
    const call = await alice.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
    await bob.waitForPush('invited');
    await bob.call('accept', { inviteID: call.inviteID });
    await alice.waitForPush('userEnter');
    await bob.call('hangup', { callID: call.callID });
    await alice.waitForPush('callEnded');
    // Bob logs in on the other node: his session on b is kicked.
    await a!.login('bob');
    await bob.closed();

    const store = await openStore({ database: database! });
    opened.push(store);
    await waitUntil('six rows delivered', async () => {
      const rows = await store.webhookOutbox.list();
      return rows.length === 6 && rows.every((r) => r.state === 'delivered');
    });
    const events = receiver.requests.map((r) => {
      expect(
        verifyWebhook({ secret: SECRET, signature: r.headers['ringline-signature'], body: r.body }),
      ).toMatchObject({ ok: true });
      return JSON.parse(r.body) as WebhookEvent;
    });
    const ofCall = events.filter((e) => e.callID === call.callID);
    expect(ofCall.map((e) => [e.seq, e.type])).toEqual([
      [1, 'call.invited'],
      [2, 'call.answered'],
      [3, 'call.member_joined'],
      [4, 'call.member_left'],
      [5, 'call.ended'],
    ]);
    const kicked = events.filter((e) => e.type === 'user.kicked');
    expect(kicked.map((e) => e.data)).toEqual([{ userID: 'bob', reason: 'duplicate_login' }]);
    // Each event was sent once, by one of the nodes.
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(events).toHaveLength(6);
  });
});
