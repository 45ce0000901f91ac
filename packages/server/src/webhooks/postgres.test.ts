/**
 * Two nodes' delivery workers on one Postgres outbox: every event is delivered exactly once, no
 * event is ever being sent by both at the same time, and each call's events arrive one after
 * the other in order. A real PostgreSQL and a real HTTP receiver.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { openStore, type OutboxEntry, type Store } from '../store/index.js';
import { CallType, MediaMode } from '@ringline/protocol';
import { postgresBackend } from '../testing/store-backends.js';
import { waitUntil } from '../testing/webhook-receiver.js';
import type { CallEvent } from '../calls/events.js';
import type { Logger } from '../log.js';
import { WebhookEnqueuer } from './outbox.js';
import { verifyWebhook } from './signing.js';
import { WebhookWorker } from './worker.js';

const backend = postgresBackend();
const SECRET = 'whsec_0123456789abcdef';
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('two workers on one Postgres', () => {
  it('never deliver one event twice, nor at the same time, and keep each call in order', async () => {
    const target = await backend.fresh();
    const nodes: Store[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await openStore({ ...target, nodeID: `node-${i}` });
      closers.push(() => s.close());
      nodes.push(s);
    }

    const inFlight = new Set<string>();
    const overlaps: string[] = [];
    const delivered: Array<{ id: string; callID: string; seq: number }> = [];
    const badSignatures: string[] = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const v = verifyWebhook({
          secret: SECRET,
          signature: req.headers['ringline-signature'],
          body,
        });
        const e = JSON.parse(body) as { id: string; callID: string; seq: number };
        if (!v.ok) badSignatures.push(e.id);
        if (inFlight.has(e.id)) overlaps.push(e.id);
        inFlight.add(e.id);
        // A little later, so that the two workers' requests overlap in time.
        setTimeout(() => {
          inFlight.delete(e.id);
          delivered.push(e);
          res.end('ok');
        }, 5);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`;

    // 20 calls of 10 events each, written as the events of interleaved calls would be.
    const entries: OutboxEntry[] = [];
    const now = Date.now();
    for (let seq = 1; seq <= 10; seq++) {
      for (let c = 0; c < 20; c++) {
        const id = `call${c}-${seq}`;
        const body = JSON.stringify({
          id,
          type: 'call.invited',
          time: now,
          callID: `call${c}`,
          seq,
          data: {},
        });
        entries.push({
          id,
          endpoint: url,
          orderKey: `call${c}`,
          seq,
          type: 'call.invited',
          body,
          createdAt: now,
        });
      }
    }
    await nodes[0]!.webhookOutbox.enqueue(entries);

    const workers = nodes.map((s) => {
      const w = new WebhookWorker({
        endpoints: [{ url, secret: SECRET }],
        outbox: s.webhookOutbox,
        logger: silentLogger,
        pollMs: 10,
        batchSize: 8,
      });
      closers.push(() => w.close());
      w.start();
      return w;
    });

    await waitUntil('every event delivered', () => delivered.length >= entries.length, 60_000);
    await waitUntil('every row marked delivered', async () =>
      (await nodes[1]!.webhookOutbox.list()).every((r) => r.state === 'delivered'),
    );
    expect(overlaps).toEqual([]);
    expect(badSignatures).toEqual([]);
    expect(delivered).toHaveLength(entries.length);
    expect(new Set(delivered.map((d) => d.id)).size).toBe(entries.length);
    for (let c = 0; c < 20; c++) {
      const seqs = delivered.filter((d) => d.callID === `call${c}`).map((d) => d.seq);
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
    // Both nodes took part.
    const stats = workers.map((w) => w.stats.delivered);
    expect(stats[0]! + stats[1]!).toBe(entries.length);
    expect(Math.min(...stats)).toBeGreaterThan(0);
  });
});

/** A call's `joined` domain events, `count` of them, numbered from 1. */
function joinedEvents(callID: string, count: number): CallEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'joined' as const,
    callID,
    seq: i + 1,
    time: Date.now(),
    roomID: 1,
    sponsor: 'alice',
    callType: CallType.AUDIO,
    media: MediaMode.P2P,
    userID: `u${i}`,
    connected: i === 0,
  }));
}

describe('events while Postgres is down', () => {
  it('are written once it is back, in order; past the bound they are dropped and logged', async () => {
    const target = await backend.fresh();
    const store = await openStore(target);
    closers.push(() => store.close());
    const lines: string[] = [];
    const logger: Logger = { ...silentLogger, error: (msg) => void lines.push(msg) };
    const enqueuer = new WebhookEnqueuer({
      outbox: store.webhookOutbox,
      endpoints: ['http://a.test/', 'http://b.test/'],
      logger,
      maxQueued: 20,
      // Long enough for Postgres to restart (a halt and resume take a few seconds).
      retriesMs: [250, 500, 1000, 2000, 4000, 8000, 16_000],
    });
    await backend.server().halt();
    // 8 events × 2 endpoints = 16 rows wait; of the next 4 events, 2 fit (20 rows), 2 do not.
    enqueuer.observer(joinedEvents('c1', 8));
    enqueuer.observer(joinedEvents('c2', 4));
    expect(enqueuer.dropped).toBe(2);
    expect(lines).toEqual(['webhook events lost: the webhook queue is full']);
    await waitUntil('a write refused', () => enqueuer.retriedWrites >= 1);
    await backend.server().resume();
    await enqueuer.flushed();
    const rows = await store.webhookOutbox.list();
    const seqs = (endpoint: string, call: string) =>
      rows.filter((r) => r.endpoint === endpoint && r.order_key === call).map((r) => r.seq);
    for (const endpoint of ['http://a.test/', 'http://b.test/']) {
      expect(seqs(endpoint, 'c1')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(seqs(endpoint, 'c2')).toEqual([1, 2]);
    }
    expect(enqueuer.dropped).toBe(2);
  }, 60_000);
});
