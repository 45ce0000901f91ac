/**
 * The signalling edge's limits: what one client, or one source address, may hold of the server.
 * docs/limits.md lists each with its default, its flag and what a client sees when it is hit.
 */
import { DEFAULT_RATE_LIMIT, type RateLimitOptions } from './rate-limit.js';
import { DEFAULT_MAX_DEPTH } from './validate.js';

export interface SignalLimits {
  /** WebSocket connections at once, in total; more get HTTP 503 with Retry-After. */
  maxConnections: number;
  /** WebSocket connections at once from one source address; more get HTTP 429 with Retry-After. */
  maxConnectionsPerAddress: number;
  /** Seconds a connection may stay without a session before it is closed (4004 LOGIN_TIMEOUT). */
  loginTimeout: number;
  /** Outgoing bytes a logged-in connection may have waiting to be written (4005 SLOW_CONSUMER). */
  maxBufferedBytes: number;
  /** The same, before login: such a connection is only ever sent short replies. */
  maxBufferedBytesBeforeLogin: number;
  /** Bytes (of JSON) of pushes a session keeps for resuming, beside `outboxLimit`'s count. */
  outboxBytes: number;
  /** How deep a frame's arrays and objects may nest (deeper: MALFORMED_MESSAGE). */
  maxDepth: number;
  /** Frames before login, per source address: one bucket for all its unauthenticated connections. */
  preLoginRateLimit: RateLimitOptions;
  /** Frames dropped in a row for the rate limit before the connection is closed (4006). */
  rateLimitCloseAfter: number;
}

export const DEFAULT_LIMITS: Readonly<SignalLimits> = Object.freeze({
  maxConnections: 50_000,
  maxConnectionsPerAddress: 1_000,
  loginTimeout: 10,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxBufferedBytesBeforeLogin: 64 * 1024,
  outboxBytes: 2 * 1024 * 1024,
  maxDepth: DEFAULT_MAX_DEPTH,
  preLoginRateLimit: Object.freeze({ burst: 200, perSecond: 100 }),
  rateLimitCloseAfter: 1_000,
});

/** Seconds a refused upgrade is told to wait (HTTP Retry-After). */
export const RETRY_AFTER_S = 5;
/** A slow consumer that has not drained this long after its close frame is cut off. */
export const SLOW_CONSUMER_GRACE_MS = 1_000;

export { DEFAULT_RATE_LIMIT };

/**
 * The key an address's connections and pre-login bucket are counted under: an IPv4 address as is
 * (IPv4-mapped IPv6 too), an IPv6 address by its /64 prefix, since one host usually holds a whole
 * /64 and could otherwise take a fresh allowance per address.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const a = address.toLowerCase();
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  if (!a.includes(':')) return a;
  const [head = '', tail] = a.split('::', 2) as [string, string | undefined];
  const front = head ? head.split(':') : [];
  const back = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? front
      : [...front, ...Array(8 - front.length - back.length).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+/, '') || '0')
    .join(':')}::/64`;
}

/** Thrown for a limit out of range; the server turns it into a ConfigError. */
export class LimitError extends Error {}

/** `limits` over the defaults, each checked; throws LimitError naming the bad one. */
export function resolveLimits(limits: Partial<SignalLimits> = {}): SignalLimits {
  const out: SignalLimits = { ...DEFAULT_LIMITS, ...limits };
  const int = (name: keyof SignalLimits, min: number) => {
    const v = out[name] as number;
    if (!Number.isSafeInteger(v) || v < min) {
      throw new LimitError(`limits.${name} must be an integer ≥ ${min}, got ${String(v)}`);
    }
  };
  int('maxConnections', 1);
  int('maxConnectionsPerAddress', 1);
  int('maxBufferedBytes', 1024);
  int('maxBufferedBytesBeforeLogin', 1024);
  int('outboxBytes', 1024);
  int('maxDepth', 2);
  int('rateLimitCloseAfter', 1);
  if (!(out.loginTimeout > 0 && out.loginTimeout <= 3600)) {
    throw new LimitError(
      `limits.loginTimeout must be seconds from 0 to 3600, got ${out.loginTimeout}`,
    );
  }
  checkRate('limits.preLoginRateLimit', out.preLoginRateLimit);
  return out;
}

/** Checks a token bucket's settings; throws LimitError. */
export function checkRate(name: string, rate: RateLimitOptions): RateLimitOptions {
  if (!(rate.burst >= 1 && Number.isFinite(rate.burst) && rate.perSecond > 0)) {
    throw new LimitError(
      `${name} needs burst ≥ 1 and perSecond > 0, got ${rate.burst}/${rate.perSecond}`,
    );
  }
  return rate;
}
