/**
 * The webhooks as an observer of the calls' domain events (and of kicked sessions): each event
 * becomes one outbox row per endpoint. Nothing here may hold up a call: rows are queued in memory
 * and written at the end of the event-loop turn, in the order the events happened (so a call's
 * rows go in in `seq` order), one transaction per turn. A write the store cannot take now (it is
 * unreachable, locked, full) is tried again a few times, the writes behind it waiting, so order
 * holds. The rows waiting are bounded; past the bound (the store has been down a while), events
 * are dropped, counted and logged.
 *
 * Layers: webhooks/ → calls/events (types), store/ (the outbox). The call layer does not know it.
 */
import { randomUUID } from 'node:crypto';
import type { KickReason } from '@ringline/protocol';
import type { CallObserver } from '../calls/events.js';
import type { Logger } from '../log.js';
import { storageFailure, type OutboxEntry } from '../store/index.js';
import { fromCallEvent, webhookBody, WebhookEventType, type WebhookEventBody } from './events.js';

/** What the enqueuer writes to (store/webhook-outbox.ts). */
export interface OutboxWriter {
  enqueue(entries: readonly OutboxEntry[]): Promise<void>;
}

/** Rows waiting for the store at most; more are dropped (and logged). */
export const DEFAULT_MAX_QUEUED = 100_000;
/** Delays before the retries of a write the store could not take now, ms (about 6 s in all). */
const WRITE_RETRIES_MS = [100, 200, 400, 800, 1600, 3200];

export interface WebhookEnqueuerOptions {
  outbox: OutboxWriter;
  /** Endpoint URLs: each event is one row per endpoint. */
  endpoints: readonly string[];
  logger: Logger;
  /** Called after each write that added rows (the local worker starts on them at once). */
  onEnqueued?: () => void;
  maxQueued?: number;
  /** Delays before retrying a write the store could not take now. Default about 6 s in all. */
  retriesMs?: readonly number[];
}

export class WebhookEnqueuer {
  readonly #o: WebhookEnqueuerOptions;
  #queue: OutboxEntry[] = [];
  /** Rows queued or being written: what the bound counts. */
  #waiting = 0;
  #immediate: NodeJS.Immediate | undefined;
  #writing: Promise<void> = Promise.resolve();
  #dropped = 0;
  #retriedWrites = 0;

  constructor(options: WebhookEnqueuerOptions) {
    this.#o = options;
  }

  /** Events dropped because the queue was full or the write failed. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Writes the store could not take at once and that were tried again. */
  get retriedWrites(): number {
    return this.#retriedWrites;
  }

  /** The observer to hand to the call layer. */
  readonly observer: CallObserver = (events) => {
    for (const e of events) this.#add(fromCallEvent(e), e.callID);
  };

  /** A session was kicked (the signalling gateway calls this). */
  kicked(userID: string, reason: KickReason, time = Date.now()): void {
    this.#add({ type: WebhookEventType.USER_KICKED, time, data: { userID, reason } });
  }

  #add(event: WebhookEventBody, orderKey?: string): void {
    const { endpoints, maxQueued = DEFAULT_MAX_QUEUED } = this.#o;
    if (this.#waiting + endpoints.length > maxQueued) {
      this.#drop(1, 'the webhook queue is full');
      return;
    }
    for (const endpoint of endpoints) {
      const id = randomUUID();
      this.#queue.push({
        id,
        endpoint,
        // An event of no call is ordered after nothing: its own id is its key.
        orderKey: orderKey ?? id,
        seq: event.seq ?? 0,
        type: event.type,
        body: webhookBody(id, event),
        createdAt: event.time,
      });
    }
    this.#waiting += endpoints.length;
    this.#immediate ??= setImmediate(() => void this.flushed());
  }

  /** Writes what is queued (after the writes already started); resolves once written or dropped. */
  flushed(): Promise<void> {
    clearImmediate(this.#immediate);
    this.#immediate = undefined;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length > 0) {
      this.#writing = this.#writing.then(async () => {
        try {
          await this.#write(batch);
          this.#o.onEnqueued?.();
        } catch (err) {
          this.#drop(batch.length / this.#o.endpoints.length, 'writing', err);
        } finally {
          this.#waiting -= batch.length;
        }
      });
    }
    return this.#writing;
  }

  /** Writes a batch, retrying while the store cannot take it now. */
  async #write(batch: OutboxEntry[]): Promise<void> {
    const delays = this.#o.retriesMs ?? WRITE_RETRIES_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#o.outbox.enqueue(batch);
      } catch (err) {
        const delay = delays[attempt];
        if (delay === undefined || !storageFailure(err)) throw err;
        this.#retriedWrites += 1;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  #drop(events: number, why: string, err?: unknown): void {
    const before = this.#dropped;
    this.#dropped += events;
    // The first loss, then one line per thousand: a long store outage must not flood the log.
    if (before === 0 || Math.floor(before / 1000) !== Math.floor(this.#dropped / 1000)) {
      this.#o.logger.error(`webhook events lost: ${why}`, { events, dropped: this.#dropped, err });
    }
  }
}
