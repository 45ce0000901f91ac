/** What `guard` needs to bound a wait. */
export interface GuardOptions<T> {
  /** Give up after this many milliseconds. */
  ms: number;
  /** The error to fail with when the time is up. */
  onTimeout: () => Error;
  /** Give up (with the signal's reason) as soon as this aborts. */
  signal?: AbortSignal | undefined;
  /** Receives the value if it arrives after the wait gave up, so it can be released. */
  onLate?: (value: T) => void;
}

/**
 * Waits for `promise` with a timeout and an abort signal: every wait in the SDK is bounded and
 * cancellable. A value that arrives too late is handed to `onLate` (e.g. to stop camera tracks).
 */
export function guard<T>(promise: Promise<T>, options: GuardOptions<T>): Promise<T> {
  const { ms, onTimeout, signal, onLate } = options;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = (): void => {
      if (finish()) reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      if (finish()) reject(onTimeout());
    }, ms);
    if (signal?.aborted) {
      onAbort();
    } else {
      signal?.addEventListener('abort', onAbort, { once: true });
    }
    promise.then(
      (value) => {
        if (finish()) resolve(value);
        else onLate?.(value);
      },
      (error: unknown) => {
        if (finish()) reject(error);
      },
    );
  });
}

/** The reason a signal was aborted with, as an Error. */
export function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error(String(reason ?? 'aborted'));
}
