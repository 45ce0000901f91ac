/**
 * The delivery worker: for each endpoint, claims due rows from the outbox (with a lease, so that
 * the nodes sharing a Postgres never send one row at the same time), POSTs each signed, and marks
 * it delivered, due again later (exponential backoff with jitter), or failed once retries have
 * run for `maxAgeMs`. A call's rows go one at a time in order (the outbox's claim sees to it);
 * different calls and endpoints go in parallel. Each request has a deadline, redirects are not
 * followed, and no more than a few hundred bytes of a response are read. Delivered rows are pruned
 * after `deliveredRetentionMs`, failed ones after `failedRetentionMs`.
 *
 * Layers: webhooks/ → store/ (the outbox). The worker takes a clock and a random source, so that
 * tests can drive the schedule.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from '../log.js';
import type { OutboxRow, WebhookOutboxStore } from '../store/index.js';
import { DEFAULT_RETRY_POLICY, nextAttempt, type RetryPolicy } from './backoff.js';
import { signatureHeader, WebhookHeader } from './signing.js';

/** A receiver of webhooks. */
export interface WebhookEndpoint {
  /** http:// or https:// URL the events are POSTed to. */
  url: string;
  /** The HMAC key deliveries are signed with; never logged. */
  secret: string;
}

/** What the worker needs of the outbox. */
export type OutboxQueue = Pick<
  WebhookOutboxStore,
  'claim' | 'delivered' | 'retryAt' | 'failed' | 'release' | 'prune'
>;

export interface WebhookWorkerOptions {
  endpoints: readonly WebhookEndpoint[];
  outbox: OutboxQueue;
  logger: Logger;
  /** Unix ms. Default Date.now. */
  now?: () => number;
  /** In [0, 1). Default Math.random. */
  random?: () => number;
  /** Ms between looks at the outbox when it had nothing due. Default 1000. */
  pollMs?: number;
  /** Ms a request may take in all (connect, headers, body) before it counts as failed. Default 10 s. */
  requestTimeoutMs?: number;
  /**
   * Ms a claimed row stays this worker's; another worker (node) may take it after that. Longer
   * than a request may take. Default requestTimeoutMs + 30 s.
   */
  leaseMs?: number;
  /** Rows claimed (and sent in parallel, each of a different call) per endpoint at once. Default 16. */
  batchSize?: number;
  /** Ms a row waits for its call's previous row, which another node may still be writing. Default 5 s. */
  gapMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Ms delivered rows are kept. Default 24 h. */
  deliveredRetentionMs?: number;
  /** Ms failed rows are kept after they were given up. Default 7 days. */
  failedRetentionMs?: number;
  /** Ms between prunes. Default 10 min. */
  pruneEveryMs?: number;
}

/** Response bytes read at most (for the log line of a failed attempt); the rest is not read. */
export const MAX_RESPONSE_BYTES = 512;

const HOUR = 3_600_000;

/** The endpoint as logs show it: no credentials, no query (either may hold a token). */
export function shownURL(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(bad URL)';
  }
}

export class WebhookWorker {
  readonly #o: WebhookWorkerOptions;
  readonly #owner = randomUUID();
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #retry: RetryPolicy;
  readonly #abort = new AbortController();
  readonly #sleepers = new Set<() => void>();
  #loops: Promise<void>[] = [];
  #closing: Promise<void> | undefined;
  #stats = { delivered: 0, retried: 0, failed: 0 };

  constructor(options: WebhookWorkerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    // Each request in flight listens for closing (batchSize per endpoint), and stops when done.
    setMaxListeners(0, this.#abort.signal);
  }

  /** Deliveries made, attempts that will be retried, deliveries given up, since start. */
  get stats(): Readonly<{ delivered: number; retried: number; failed: number }> {
    return { ...this.#stats };
  }

  /** Starts one loop per endpoint, and the pruning. */
  start(): void {
    if (this.#loops.length > 0 || this.#abort.signal.aborted) return;
    this.#loops = [...this.#o.endpoints.map((ep) => this.#run(ep)), this.#pruning()];
  }

  /** Looks at the outbox now (rows were just enqueued). */
  wake(): void {
    for (const wake of [...this.#sleepers]) wake();
  }

  /**
   * Stops: requests in flight are aborted (they count as failed attempts only if the store still
   * hears of it), the leases this worker holds are given back. Idempotent.
   */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      this.#abort.abort();
      this.wake();
      await Promise.all(this.#loops);
      await this.#o.outbox
        .release(this.#owner)
        .catch((err: unknown) => this.#o.logger.warn('giving back webhook leases failed', { err }));
    })());
  }

  /** Waits `ms`, or less if woken or closed. */
  #sleep(ms: number): Promise<void> {
    if (this.#abort.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
    });
  }

  async #run(endpoint: WebhookEndpoint): Promise<void> {
    const o = this.#o;
    const pollMs = o.pollMs ?? 1000;
    const requestTimeoutMs = o.requestTimeoutMs ?? 10_000;
    const leaseMs = o.leaseMs ?? requestTimeoutMs + 30_000;
    let failing = false;
    while (!this.#abort.signal.aborted) {
      let rows: OutboxRow[];
      try {
        rows = await o.outbox.claim({
          endpoint: endpoint.url,
          owner: this.#owner,
          now: this.#now(),
          leaseMs,
          limit: o.batchSize ?? 16,
          gapMs: o.gapMs ?? 5000,
        });
        if (failing) o.logger.info('the webhook outbox is readable again');
        failing = false;
      } catch (err) {
        if (!failing) o.logger.warn('cannot read the webhook outbox', { err });
        failing = true;
        await this.#sleep(pollMs);
        continue;
      }
      if (rows.length === 0) {
        await this.#sleep(pollMs);
        continue;
      }
      await Promise.all(rows.map((row) => this.#deliver(endpoint, row, requestTimeoutMs)));
    }
  }

  async #deliver(endpoint: WebhookEndpoint, row: OutboxRow, timeoutMs: number): Promise<void> {
    const { outbox, logger } = this.#o;
    const error = await post(endpoint, row, this.#now, timeoutMs, this.#abort.signal);
    // Closing aborted it: the row stays due, for whoever claims it next.
    if (this.#abort.signal.aborted && error !== undefined) return;
    const now = this.#now();
    try {
      if (error === undefined) {
        if (await outbox.delivered(row.id, this.#owner, now)) this.#stats.delivered += 1;
        return;
      }
      const failures = row.attempts + 1;
      const next = nextAttempt(row.createdAt, failures, now, this.#retry, this.#random);
      if (next === undefined) {
        await outbox.failed(row.id, this.#owner, now, error);
        this.#stats.failed += 1;
        logger.warn('webhook delivery given up', {
          id: row.id,
          type: row.type,
          endpoint: shownURL(endpoint.url),
          attempts: failures,
          error,
        });
        return;
      }
      await outbox.retryAt(row.id, this.#owner, next, error);
      this.#stats.retried += 1;
      logger.debug('webhook delivery failed; will retry', {
        id: row.id,
        endpoint: shownURL(endpoint.url),
        attempts: failures,
        inMs: next - now,
        error,
      });
    } catch (err) {
      // The lease runs out and the row is tried again: at least once, never lost.
      logger.warn('cannot record a webhook delivery in the outbox', { id: row.id, err });
    }
  }

  async #pruning(): Promise<void> {
    const o = this.#o;
    const every = o.pruneEveryMs ?? 600_000;
    while (!this.#abort.signal.aborted) {
      const now = this.#now();
      try {
        const pruned = await o.outbox.prune(
          now - (o.deliveredRetentionMs ?? 24 * HOUR),
          now - (o.failedRetentionMs ?? 7 * 24 * HOUR),
        );
        if (pruned > 0) o.logger.debug('webhook outbox pruned', { pruned });
      } catch (err) {
        o.logger.warn('pruning the webhook outbox failed', { err });
      }
      await this.#sleep(every);
    }
  }
}

/**
 * POSTs one delivery; resolves undefined on a 2xx answer, else what went wrong (for the log and
 * the row's last_error). Never rejects.
 */
function post(
  endpoint: WebhookEndpoint,
  row: OutboxRow,
  now: () => number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (error: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(error);
    };
    const url = new URL(endpoint.url);
    const body = Buffer.from(row.body, 'utf8');
    const t = Math.floor(now() / 1000);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': body.length,
        'user-agent': 'Ringline-Webhooks/1',
        [WebhookHeader.SIGNATURE]: signatureHeader(endpoint.secret, t, row.body),
        [WebhookHeader.EVENT_ID]: row.id,
        [WebhookHeader.EVENT_TYPE]: row.type,
      },
      // No pooled sockets: a receiver's half-dead keep-alive connection cannot eat an attempt.
      agent: false,
    });
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => finish('the worker stopped');
    signal.addEventListener('abort', onAbort);
    req.on('error', (err) => finish(err.message || (err as NodeJS.ErrnoException).code || 'error'));
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        // The answer counts; its body does not matter and is not read.
        finish(undefined);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const fail = () =>
        finish(
          status >= 300 && status < 400
            ? `answered ${status} (redirects are not followed)`
            : `answered ${status}: ${Buffer.concat(chunks).toString('utf8').slice(0, MAX_RESPONSE_BYTES)}`,
        );
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_RESPONSE_BYTES) fail();
      });
      res.on('end', fail);
      res.on('error', fail);
    });
    req.end(body);
  });
}
