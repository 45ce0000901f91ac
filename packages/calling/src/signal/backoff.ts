/** How reconnect attempts are spaced. */
export interface BackoffOptions {
  /** Delay before the first attempt, ms. */
  initialDelayMs: number;
  /** The longest delay between two attempts, ms. */
  maxDelayMs: number;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): doubles each time up to `maxDelayMs`, then
 * "equal jitter" picks uniformly in [d/2, d] so that many clients dropped at once do not all come
 * back in the same instant.
 */
export function backoffDelay(
  attempt: number,
  { initialDelayMs, maxDelayMs }: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
