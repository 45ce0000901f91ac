/**
 * Tracks the `seq` of server pushes for one session: a push at or below the last one seen is a
 * duplicate (e.g. replayed twice around a reconnect) and is dropped.
 */
export class PushSequencer {
  #last = 0;

  /** The highest seq accepted; what `ping.ack` and `login.resume.lastSeq` report. */
  get lastSeq(): number {
    return this.#last;
  }

  /** Whether a push with `seq` is new (and records it), or a duplicate to ignore. */
  accept(seq: unknown): boolean {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq <= this.#last) return false;
    this.#last = seq;
    return true;
  }

  /** Starts over for a new session, whose pushes count from 1 again. */
  reset(): void {
    this.#last = 0;
  }
}
