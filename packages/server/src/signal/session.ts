/**
 * A user's signalling session. It outlives its connection by the resume window: pushes get a
 * per-session `seq` and stay in a bounded outbox until the client acknowledges them, so that a
 * client that reconnects gets exactly what it missed, in order.
 */
import { randomUUID } from 'node:crypto';
import type { PushBody } from '../cluster/types.js';
import { silentLogger, type Logger } from '../log.js';
import { TokenBucket, type RateLimitOptions } from './rate-limit.js';

/** Where a session writes its pushes: the connection it is attached to. */
export interface PushSink {
  /** One push, already serialised (`seq` included): the outbox keeps it that way for replay. */
  sendPush(json: string): void;
}

/** A push as kept for replay: serialised once, so that its size is known and replays are free. */
interface Queued {
  seq: number;
  json: string;
}

export type SessionState = 'active' | 'detached' | 'closed';

const transitions: Record<SessionState, readonly SessionState[]> = {
  active: ['detached', 'closed'],
  detached: ['active', 'closed'],
  closed: [],
};

export interface SessionOptions {
  /** Most pushes kept for replay; older ones are dropped (and resuming from before them fails). */
  outboxLimit: number;
  /** Most characters of JSON kept for replay, likewise (default: no limit but the count). */
  outboxBytes?: number;
  rateLimit: RateLimitOptions;
  logger?: Logger;
  /** The session's id when it is rebuilt on another node (resume); default a fresh one. */
  sessionID?: string;
}

export class Session {
  readonly sessionID: string;
  /** Request rate limit; it belongs to the session so that reconnecting does not refill it. */
  readonly bucket: TokenBucket;
  /** The highest ack passed on to a shared outbox (gateway; shared sessions only). */
  sharedAck = 0;
  #state: SessionState = 'active';
  #seq = 0;
  #outbox: Queued[] = [];
  /** Characters of JSON in the outbox. */
  #outboxSize = 0;
  /** Highest seq written to the current sink. */
  #sentSeq = 0;
  #holds = 0;
  #sink: PushSink | undefined;
  #resumeTimer: NodeJS.Timeout | undefined;
  readonly #log: Logger;

  constructor(
    readonly userID: string,
    sink: PushSink,
    private readonly options: SessionOptions,
  ) {
    this.sessionID = options.sessionID ?? randomUUID();
    this.#sink = sink;
    this.bucket = new TokenBucket(options.rateLimit);
    this.#log = options.logger ?? silentLogger;
  }

  get state(): SessionState {
    return this.#state;
  }
  get sink(): PushSink | undefined {
    return this.#sink;
  }
  /** Seq of the newest push. */
  get seq(): number {
    return this.#seq;
  }
  /** Pushes kept for replay. */
  get buffered(): number {
    return this.#outbox.length;
  }
  /** Characters of JSON kept for replay. */
  get bufferedBytes(): number {
    return this.#outboxSize;
  }

  /** Queues a push; it is written at once unless the session is held or detached. */
  push(body: PushBody): void {
    if (this.#state === 'closed') return;
    this.#queue(++this.#seq, JSON.stringify(body));
  }

  /**
   * Queues a push whose seq a shared outbox gave (cluster SharedSessions), `bodyJson` being the
   * body's JSON without it. A seq already here (replayed by a take-over) is ignored.
   */
  pushAt(seq: number, bodyJson: string): void {
    if (this.#state === 'closed' || seq <= this.#seq) return;
    if (seq !== this.#seq + 1 && this.#seq > 0) {
      // Only a bus message lost while Redis was away leaves a gap; the client resumes past it.
      this.#log.warn(`session ${this.sessionID}: seq ${this.#seq + 1}..${seq - 1} missing`);
    }
    this.#seq = seq;
    this.#queue(seq, bodyJson);
  }

  /**
   * Fills a session rebuilt on this node from its shared outbox: `entries` are what followed the
   * client's last seq, `head` the outbox's newest seq. Pushes that arrived meanwhile (`pushAt`
   * while the take-over ran) stay, in seq order.
   */
  restore(entries: readonly { seq: number; json: string }[], head: number): void {
    const arrived = this.#outbox;
    this.#outbox = [];
    this.#outboxSize = 0;
    this.#seq = entries.length ? entries[0]!.seq - 1 : head;
    for (const e of entries) {
      if (e.seq <= this.#seq) continue;
      this.#seq = e.seq;
      this.#queue(e.seq, e.json);
    }
    this.#seq = Math.max(this.#seq, head);
    for (const e of arrived) {
      if (e.seq <= this.#seq) continue;
      this.#seq = e.seq;
      this.#outbox.push(e);
      this.#outboxSize += e.json.length;
    }
  }

  #queue(seq: number, body_: string): void {
    // `seq` goes last, spliced into the body's JSON: no copy of the body (its many shapes sent
    // object spreads down V8's slow path), one serialisation for the write and every replay.
    const json = `${body_.slice(0, -1)}${body_.length > 2 ? ',' : ''}"seq":${seq}}`;
    this.#outbox.push({ seq, json });
    this.#outboxSize += json.length;
    const maxBytes = this.options.outboxBytes ?? Infinity;
    // Never drop the push just made: a single push larger than the byte limit still goes out.
    while (
      this.#outbox.length > 1 &&
      (this.#outbox.length > this.options.outboxLimit || this.#outboxSize > maxBytes)
    ) {
      this.#outboxSize -= this.#outbox.shift()!.json.length;
    }
    this.#flush();
  }

  /** Holds pushes back (while a request of this session awaits its reply, which must go first). */
  hold(): void {
    this.#holds += 1;
  }
  release(): void {
    this.#holds = Math.max(0, this.#holds - 1);
    this.#flush();
  }

  /** The client has every push up to `seq`: they need not be kept. */
  ack(seq: number): void {
    while (this.#outbox.length && this.#outbox[0]!.seq <= seq) {
      this.#outboxSize -= this.#outbox.shift()!.json.length;
    }
  }

  /** Whether every push after `lastSeq` is still here to replay. */
  canResume(lastSeq: number): boolean {
    if (this.#state === 'closed' || lastSeq > this.#seq) return false;
    if (lastSeq === this.#seq) return true;
    const oldest = this.#outbox[0]?.seq;
    return oldest !== undefined && oldest <= lastSeq + 1;
  }

  /** Attaches a (new) connection; pushes after `lastSeq` are written to it once not held. */
  attach(sink: PushSink, lastSeq: number): void {
    this.#setState('active');
    clearTimeout(this.#resumeTimer);
    this.#resumeTimer = undefined;
    this.#sink = sink;
    this.#sentSeq = lastSeq;
    this.#flush();
  }

  /**
   * The connection is gone: keep the session for `windowMs`, then call `onExpire`; without them,
   * the expiry is someone else's (a cluster timer).
   */
  detach(windowMs?: number, onExpire?: () => void): void {
    this.#setState('detached');
    this.#sink = undefined;
    if (windowMs !== undefined && onExpire) this.#resumeTimer = setTimeout(onExpire, windowMs);
  }

  /** Writes everything queued now, even while held (a kick must reach the client before close). */
  flushNow(): void {
    this.#flush(true);
  }

  /** Ends the session for good; idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    clearTimeout(this.#resumeTimer);
    this.#resumeTimer = undefined;
    this.#sink = undefined;
    this.#outbox = [];
    this.#outboxSize = 0;
  }

  #flush(force = false): void {
    const sink = this.#sink;
    if (this.#state !== 'active' || !sink || (this.#holds > 0 && !force)) return;
    const outbox = this.#outbox;
    const first = outbox[0];
    if (!first) return;
    // Seqs in the outbox are contiguous (but for a rare gap, see pushAt), so the first unsent one
    // is found by arithmetic, then corrected.
    const sent = this.#sentSeq;
    let i = Math.min(outbox.length, Math.max(0, sent + 1 - first.seq));
    while (i > 0 && outbox[i - 1]!.seq > sent) i--;
    while (i < outbox.length && outbox[i]!.seq <= sent) i++;
    for (; i < outbox.length; i++) sink.sendPush(outbox[i]!.json);
    this.#sentSeq = this.#seq;
  }

  #setState(next: SessionState): void {
    const prev = this.#state;
    if (prev === next) return;
    if (!transitions[prev].includes(next)) {
      throw new Error(`session ${this.sessionID}: ${prev} -> ${next} is not allowed`);
    }
    this.#log.debug(`session ${this.sessionID} (${this.userID}): ${prev} -> ${next}`);
    this.#state = next;
  }
}
