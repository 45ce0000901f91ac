/**
 * The delivery worker against real HTTP receivers and a real SQLite outbox: giving up after the
 * retry window (an injected clock), redirects not followed, an error answer read only up to a
 * bound, close() aborting what is in flight and giving its leases back.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../log.js';
import { openStore, type OutboxEntry, type Store } from '../store/index.js';
import { freePort } from '../testing/postgres.js';
import { sqliteBackend } from '../testing/store-backends.js';
import { waitUntil } from '../testing/webhook-receiver.js';
import { MAX_RESPONSE_BYTES, WebhookWorker, type WebhookWorkerOptions } from './worker.js';

const backend = sqliteBackend();
const HOUR = 3_600_000;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function store(): Promise<Store> {
  const s = await openStore(await backend.fresh());
  closers.push(() => s.close());
  return s;
}

/** An HTTP server answering with `handler`, closed after the test. */
async function httpServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const { port } = server.address() as { port: number };
  return `http://127.0.0.1:${port}/hooks`;
}

function worker(options: WebhookWorkerOptions): WebhookWorker {
  const w = new WebhookWorker({ pollMs: 20, ...options });
  closers.push(() => w.close());
  w.start();
  return w;
}

/** A logger that keeps its lines. */
function recordingLogger(): Logger & {
  lines: Array<{ level: string; msg: string; fields?: unknown }>;
} {
  const lines: Array<{ level: string; msg: string; fields?: unknown }> = [];
  const at = (level: string) => (msg: string, fields?: unknown) =>
    void lines.push({ level, msg, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const entry = (endpoint: string, createdAt: number): OutboxEntry => ({
  id: 'e1',
  endpoint,
  orderKey: 'c1',
  seq: 1,
  type: 'call.invited',
  body: '{"id":"e1"}',
  createdAt,
});

describe('WebhookWorker', () => {
  it('gives up on an event older than the retry window: one log line, the row kept as failed', async () => {
    const s = await store();
    const endpoint = `http://127.0.0.1:${await freePort()}/hooks`; // nothing listens
    const now = 50 * HOUR;
    const log = recordingLogger();
    // The event is 24 h and a second old by the worker's clock.
    await s.webhookOutbox.enqueue([entry(endpoint, now - 24 * HOUR - 1000)]);
    const w = worker({
      endpoints: [{ url: endpoint, secret: 'whsec_0123456789abcdef' }],
      outbox: s.webhookOutbox,
      logger: log,
      now: () => now,
    });
    await waitUntil('the row given up', async () =>
      (await s.webhookOutbox.list()).some((r) => r.state === 'failed'),
    );
    const [row] = await s.webhookOutbox.list();
    expect(row).toMatchObject({ state: 'failed', attempts: 1, done_at: now });
    expect(row!.last_error).toMatch(/ECONNREFUSED/);
    const gaveUp = log.lines.filter((l) => l.msg === 'webhook delivery given up');
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]).toMatchObject({ level: 'warn', fields: { id: 'e1', attempts: 1 } });
    // The secret is in no log line.
    expect(JSON.stringify(log.lines)).not.toContain('whsec_');
    expect(w.stats).toEqual({ delivered: 0, retried: 0, failed: 1 });
  });

  it('does not follow a redirect: the attempt fails and the target hears nothing', async () => {
    const s = await store();
    let targetHits = 0;
    const target = await httpServer((_req, res) => {
      targetHits += 1;
      res.end('ok');
    });
    const endpoint = await httpServer((_req, res) => {
      res.writeHead(302, { location: target }).end();
    });
    await s.webhookOutbox.enqueue([entry(endpoint, Date.now())]);
    worker({
      endpoints: [{ url: endpoint, secret: 'whsec_0123456789abcdef' }],
      outbox: s.webhookOutbox,
      logger: recordingLogger(),
      retry: { baseMs: 60_000 },
    });
    await waitUntil('a failed attempt', async () =>
      (await s.webhookOutbox.list()).some((r) => r.attempts >= 1),
    );
    const [row] = await s.webhookOutbox.list();
    expect(row).toMatchObject({ state: 'pending', attempts: 1 });
    expect(row!.last_error).toMatch(/answered 302 \(redirects are not followed\)/);
    expect(targetHits).toBe(0);
  });

  it('reads no more than a bound of an error answer that never ends', async () => {
    const s = await store();
    const endpoint = await httpServer((_req, res) => {
      // 500 with an endless body: a worker that read it all would wait for its request timeout.
      res.writeHead(500);
      res.write('x'.repeat(64 * 1024));
    });
    await s.webhookOutbox.enqueue([entry(endpoint, Date.now())]);
    worker({
      endpoints: [{ url: endpoint, secret: 'whsec_0123456789abcdef' }],
      outbox: s.webhookOutbox,
      logger: recordingLogger(),
      requestTimeoutMs: 600_000,
      retry: { baseMs: 60_000 },
    });
    await waitUntil('a failed attempt', async () =>
      (await s.webhookOutbox.list()).some((r) => r.attempts >= 1),
    );
    const [row] = await s.webhookOutbox.list();
    expect(row!.last_error).toMatch(/^answered 500: x+$/);
    expect(row!.last_error!.length).toBeLessThanOrEqual(
      'answered 500: '.length + MAX_RESPONSE_BYTES,
    );
  });

  it('close() aborts a request in flight and gives the lease back', async () => {
    const s = await store();
    let arrived = 0;
    // Never answers.
    const endpoint = await httpServer(() => void (arrived += 1));
    await s.webhookOutbox.enqueue([entry(endpoint, Date.now())]);
    const w = worker({
      endpoints: [{ url: endpoint, secret: 'whsec_0123456789abcdef' }],
      outbox: s.webhookOutbox,
      logger: recordingLogger(),
      requestTimeoutMs: 600_000,
    });
    await waitUntil('the request', () => arrived === 1);
    expect((await s.webhookOutbox.list())[0]!.lease_owner).not.toBeNull();
    await w.close();
    expect((await s.webhookOutbox.list())[0]).toMatchObject({
      state: 'pending',
      attempts: 0,
      lease_owner: null,
      lease_until: null,
    });
  });
});
