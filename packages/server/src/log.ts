/** The server's logging seam: quiet by default (tests), a console logger for the CLI. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const noop = (): void => {};

/** Discards everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** One line per entry on stderr: `time level msg {fields}`. */
export function consoleLogger(
  level: LogLevel = 'info',
  out: NodeJS.WritableStream = process.stderr,
): Logger {
  const write = (at: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (rank[at] < rank[level]) return;
    const tail = fields && Object.keys(fields).length > 0 ? ' ' + safeJson(fields) : '';
    out.write(`${new Date().toISOString()} ${at.padEnd(5)} ${msg}${tail}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? v.message : v));
  } catch {
    return '[unserializable]';
  }
}
