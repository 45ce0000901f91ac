// What every bench script needs: checked settings from the environment, percentiles, and a last
// resort that ends a run that hangs.

/** Prints `message` and exits with 2 (a bad setting, or a run that cannot go on). */
export function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}

/** `raw` as a positive integer; anything else ends the run, naming `what`. */
export function toPositiveInt(raw, what) {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    fail(`${what} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** The environment variable `name` as a positive integer, or `fallback` when it is not set. */
export function positiveInt(name, fallback) {
  const raw = process.env[name];
  return raw === undefined ? fallback : toPositiveInt(raw, name);
}

/** Nearest-rank percentile of `values` (a sorted copy is used), or null when empty. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}

/**
 * Ends the process `seconds` from now if it is still running: the last resort when something
 * hangs past every per-step timeout. Returns the timer (unref'd), to clear on a normal finish.
 */
export function exitAfter(seconds) {
  const timer = setTimeout(
    () => fail(`still running ${seconds} s after start; giving up`),
    seconds * 1000,
  );
  timer.unref();
  return timer;
}
