/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export interface RateLimitOptions {
  burst: number;
  perSecond: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { burst: 100, perSecond: 50 };

export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#tokens = options.burst;
    this.#last = now();
  }

  /** Whether the bucket has refilled completely (nothing would be lost by forgetting it). */
  get full(): boolean {
    const refill = ((this.now() - this.#last) / 1000) * this.options.perSecond;
    return this.#tokens + refill >= this.options.burst;
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const t = this.now();
    const refill = ((t - this.#last) / 1000) * this.options.perSecond;
    this.#tokens = Math.min(this.options.burst, this.#tokens + refill);
    this.#last = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
