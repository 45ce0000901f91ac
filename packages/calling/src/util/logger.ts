/** How much the SDK logs; `silent` logs nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Where the SDK's layers write their log lines. */
export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/**
 * A logger writing to `sink` (the console by default) lines at `level` or above, prefixed. `level`
 * may be a function, read at each line, so the level can change later (`setLogLevel`).
 */
export function createLogger(
  level: LogLevel | (() => LogLevel) = 'warn',
  sink: Logger = console,
  prefix = '[ringline]',
): Logger {
  const at =
    (lvl: Exclude<LogLevel, 'silent'>) =>
    (...args: unknown[]): void => {
      if (rank[lvl] >= rank[typeof level === 'function' ? level() : level]) {
        sink[lvl](prefix, ...args);
      }
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger('silent');

/** Whether `value` is one of the level names. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && Object.hasOwn(rank, value);
}
