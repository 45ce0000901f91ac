/**
 * The server's logging seam: quiet by default (tests), pino for the CLI — one JSON object per line
 * (for a log collector), or readable lines when it writes to a terminal. Secrets never reach a
 * line: fields named like a userSig, a key, a secret, a password or an authorization are redacted
 * wherever they sit in the first two levels of an entry's fields.
 */
import { pino } from 'pino';
import pinoPretty from 'pino-pretty';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const noop = (): void => {};

/** Discards everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const SECRET_FIELDS = [
  'userSig',
  'usersig',
  'secret',
  'secretKey',
  'password',
  'credential',
  'authorization',
];
const REDACT = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]);

export interface PinoLoggerOptions {
  level?: LogLevel;
  /** Where lines go; default stderr. */
  out?: NodeJS.WritableStream;
  /** Readable lines instead of JSON; default: whether `out` is a terminal. */
  pretty?: boolean;
}

/** A pino logger behind the Logger seam: `msg` and `fields` become one entry. */
export function pinoLogger(options: PinoLoggerOptions = {}): Logger {
  const out = options.out ?? process.stderr;
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  const pretty = options.pretty ?? tty;
  const destination = pretty
    ? pinoPretty({
        destination: out,
        sync: true,
        colorize: tty,
        translateTime: 'SYS:standard',
        ignore: 'pid,hostname',
      })
    : out;
  const log = pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    destination,
  );
  const at =
    (level: LogLevel) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (fields) log[level](fields, msg);
      else log[level](msg);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
