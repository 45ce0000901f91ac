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

/** A logger writing to `sink` (the console by default) lines at `level` or above, prefixed. */
export function createLogger(
  level: LogLevel = 'warn',
  sink: Logger = console,
  prefix = '[ringline]',
): Logger {
  const at =
    (lvl: Exclude<LogLevel, 'silent'>) =>
    (...args: unknown[]): void => {
      if (rank[lvl] >= rank[level]) sink[lvl](prefix, ...args);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger('silent');
