/**
 * Webhooks end to end: a real server, real WebSocket clients, a real HTTP receiver that is down,
 * slow, failing, then up. Every event arrives — exactly once after de-duplication by id, in order
 * per call, correctly signed — and a server restart in the middle of the outage loses nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CallType } from '@ringline/protocol';
import { openStore } from '../store/index.js';
import { startTestServer, type TestServer } from '../testing/server.js';
import {
  startReceiver,
  waitUntil,
  type ReceivedRequest,
  type TestReceiver,
} from '../testing/webhook-receiver.js';
import type { WebhookEvent } from './events.js';
import { verifyWebhook } from './signing.js';

const SECRET = 'whsec_0123456789abcdef';

const opened: Array<{ close(): Promise<unknown> }> = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A receiver, closed after the test. */
async function receiver(slowMs: number): Promise<TestReceiver> {
  const r = await startReceiver({ slowMs });
  opened.push({ close: () => r.down() });
  return r;
}

/** A server on `dataDir` sending webhooks to `url`, with short delivery intervals. */
async function server(dataDir: string, url: string): Promise<TestServer> {
  const s = await startTestServer({
    dataDir,
    webhooks: [{ url, secret: SECRET }],
    webhookDelivery: {
      pollMs: 20,
      requestTimeoutMs: 200,
      gapMs: 100,
      retry: { baseMs: 20, capMs: 100 },
    },
  });
  opened.push(s);
  return s;
}

/** The outbox's rows, read through a second connection to the server's SQLite store. */
async function outboxRows(dataDir: string) {
  const store = await openStore({ dataDir });
  try {
    return await store.webhookOutbox.list();
  } finally {
    await store.close();
  }
}

/** Each request's event, checking its signature and headers; first arrival of each id kept. */
function received(requests: readonly ReceivedRequest[]): WebhookEvent[] {
  const seen = new Map<string, WebhookEvent>();
  for (const r of requests) {
    const v = verifyWebhook({
      secret: SECRET,
      signature: r.headers['ringline-signature'],
      body: r.body,
    });
    expect(v).toMatchObject({ ok: true });
    const event = JSON.parse(r.body) as WebhookEvent;
    expect(r.headers['ringline-event-id']).toBe(event.id);
    expect(r.headers['ringline-event-type']).toBe(event.type);
    if (!seen.has(event.id)) seen.set(event.id, event);
  }
  return [...seen.values()];
}

/** Per call, the types of its events in arrival order, and their seqs. */
function byCall(events: readonly WebhookEvent[]): Map<string, { types: string[]; seqs: number[] }> {
  const calls = new Map<string, { types: string[]; seqs: number[] }>();
  for (const e of events) {
    if (e.callID === undefined) continue;
    const c = calls.get(e.callID) ?? { types: [], seqs: [] };
    c.types.push(e.type);
    c.seqs.push(e.seq!);
    calls.set(e.callID, c);
  }
  return calls;
}

/** What a one-to-one call that connects and is hung up sends, in order. */
const CALL_EVENTS = {
  types: ['call.invited', 'call.answered', 'call.member_joined', 'call.member_left', 'call.ended'],
  seqs: [1, 2, 3, 4, 5],
};

/** Alice calls Bob, Bob answers, `hangsUp` hangs up; resolves once both have heard the end. */
async function connectedCall(s: TestServer, callType: CallType, hangsUp: 'alice' | 'bob') {
  const alice = await s.login('alice');
  const bob = await s.login('bob');
  const call = await alice.call('invite', { userIDList: ['bob'], callType });
  await bob.call('accept', { inviteID: call.inviteID });
  const [hanger, other] = hangsUp === 'alice' ? [alice, bob] : [bob, alice];
  await hanger.call('hangup', { callID: call.callID });
  await other.waitForPush('callEnded');
  return { alice, bob, call };
}

/** Waits until the outbox has `count` rows, every one delivered. */
function allDelivered(dataDir: string, count: number): Promise<void> {
  return waitUntil('every event delivered', async () => {
    const rows = await outboxRows(dataDir);
    return rows.length === count && rows.every((row) => row.state === 'delivered');
  });
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ringline-webhooks-'));
  dirs.push(d);
  return d;
}

describe('webhooks to a receiver that is down, slow, failing, then up', () => {
  it('deliver every event once after de-duplication, in order per call, signed', async () => {
    const dataDir = tempDir();
    const r = await receiver(500);
    const s = await server(dataDir, r.url);
    // While the receiver is down: a call, a missed call, a kicked session.
    const { alice, bob, call: a } = await connectedCall(s, CallType.VIDEO, 'bob');
    const carol = await s.login('carol');
    const offlinePushInfo = { title: 'Alice', description: 'is calling you' };
    const b = await alice.call('invite', {
      userIDList: ['carol'],
      callType: CallType.AUDIO,
      timeout: 1,
      offlinePushInfo,
    });
    await carol.waitForPush('inviteEnded');
    await alice.waitForPush('callEnded');
    await s.login('bob');
    await bob.closed();

    await waitUntil('refused attempts', async () =>
      (await outboxRows(dataDir)).some((row) => row.attempts >= 2),
    );
    await r.set('slow');
    await waitUntil('slow answers', () => r.requests.length >= 2);
    await r.set('error');
    await waitUntil(
      'failed answers',
      () => r.requests.filter((q) => q.answered === 'error').length >= 2,
    );
    await r.set('ok');
    await allDelivered(dataDir, 9);

    const rows = await outboxRows(dataDir);
    const events = received(r.requests);
    // Exactly once after de-duplication: one id per event, and every row's id arrived.
    expect(events.map((e) => e.id).sort()).toEqual(rows.map((row) => row.id).sort());
    const calls = byCall(events);
    expect(calls.get(a.callID)).toEqual(CALL_EVENTS);
    expect(calls.get(b.callID)).toEqual({
      types: ['call.invited', 'call.missed', 'call.ended'],
      seqs: [1, 2, 3],
    });
    // What a retried event's receiver got the first time is what it gets each time.
    const bodies = new Map<string, Set<string>>();
    for (const q of r.requests) {
      const id = (JSON.parse(q.body) as WebhookEvent).id;
      bodies.set(id, (bodies.get(id) ?? new Set()).add(q.body));
    }
    for (const set of bodies.values()) expect(set.size).toBe(1);

    const find = (type: string, callID?: string) =>
      events.find((e) => e.type === type && (callID === undefined || e.callID === callID))!;
    expect(find('call.ended', a.callID).data).toMatchObject({
      reason: 'hangup',
      members: ['alice', 'bob'],
      sponsor: 'alice',
      callType: CallType.VIDEO,
      duration: expect.any(Number),
      connectedAt: expect.any(Number),
    });
    expect(find('call.missed').data).toMatchObject({
      userID: 'carol',
      inviter: 'alice',
      reason: 'timeout',
      inviteID: b.inviteID,
      offlinePushInfo,
    });
    expect(find('call.ended', b.callID).data).toMatchObject({ reason: 'no_answer', duration: 0 });
    expect(find('user.kicked')).toMatchObject({
      type: 'user.kicked',
      data: { userID: 'bob', reason: 'duplicate_login' },
    });
    expect(find('user.kicked')).not.toHaveProperty('callID');
  });

  it('a server restart in the middle of an outage loses nothing', async () => {
    const dataDir = tempDir();
    const r = await receiver(500);
    const first = await server(dataDir, r.url);
    const { call: a } = await connectedCall(first, CallType.AUDIO, 'alice');
    await waitUntil('a refused attempt', async () =>
      (await outboxRows(dataDir)).some((row) => row.attempts >= 1),
    );
    await first.close();

    const second = await server(dataDir, r.url);
    await r.set('ok');
    await allDelivered(dataDir, 5);
    const events = received(r.requests);
    expect(byCall(events).get(a.callID)).toEqual(CALL_EVENTS);
    await second.close();
  });
});
