/**
 * The webhooks as an observer of the calls' domain events (and of kicked sessions): each event
 * becomes one outbox row per endpoint. Nothing here may hold up a call: rows are queued in memory
 * and written at the end of the event-loop turn, in the order the events happened (so a call's
 * rows go in in `seq` order), one transaction per turn. The queue is bounded; when the store
 * cannot keep up (or is down) past it, events are dropped, counted and logged.
 *
 * Layers: webhooks/ → calls/events (types), store/ (the outbox). The call layer does not know it.
 */
import { randomUUID } from 'node:crypto';
import type { KickReason } from '@ringline/protocol';
import type { CallObserver } from '../calls/events.js';
import type { Logger } from '../log.js';
import type { OutboxEntry } from '../store/index.js';
import { fromCallEvent, webhookBody, WebhookEventType, type WebhookEventBody } from './events.js';

/** What the enqueuer writes to (store/webhook-outbox.ts). */
export interface OutboxWriter {
  enqueue(entries: readonly OutboxEntry[]): Promise<void>;
}

/** Rows waiting for the store at most; more are dropped (and logged). */
export const DEFAULT_MAX_QUEUED = 100_000;

export interface WebhookEnqueuerOptions {
  outbox: OutboxWriter;
  /** Endpoint URLs: each event is one row per endpoint. */
  endpoints: readonly string[];
  logger: Logger;
  /** Called after each write that added rows (the local worker starts on them at once). */
  onEnqueued?: () => void;
  maxQueued?: number;
}

export class WebhookEnqueuer {
  readonly #o: WebhookEnqueuerOptions;
  #queue: OutboxEntry[] = [];
  #immediate: NodeJS.Immediate | undefined;
  #writing: Promise<void> = Promise.resolve();
  #dropped = 0;

  constructor(options: WebhookEnqueuerOptions) {
    this.#o = options;
  }

  /** Events dropped because the queue was full or the write failed. */
  get dropped(): number {
    return this.#dropped;
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
    if (this.#queue.length + endpoints.length > maxQueued) {
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
    this.#immediate ??= setImmediate(() => void this.flushed());
  }

  /** Writes what is queued (after the writes already started); resolves once written or dropped. */
  flushed(): Promise<void> {
    clearImmediate(this.#immediate);
    this.#immediate = undefined;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length > 0) {
      this.#writing = this.#writing.then(() =>
        this.#o.outbox.enqueue(batch).then(
          () => this.#o.onEnqueued?.(),
          (err: unknown) => this.#drop(batch.length / this.#o.endpoints.length, 'writing', err),
        ),
      );
    }
    return this.#writing;
  }

  #drop(events: number, why: string, err?: unknown): void {
    this.#dropped += events;
    this.#o.logger.error(`webhook events lost: ${why}`, { events, dropped: this.#dropped, err });
  }
}
