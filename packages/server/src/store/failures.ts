/** Which store failures mean "cannot be written now" rather than a bug or a refused write. */

/** SQLite's and Postgres's codes for "the disk is full" (Postgres: SQLSTATE 53100 disk_full). */
const FULL_CODES = new Set(['SQLITE_FULL', '53100']);
/**
 * "The store cannot be written now": SQLite's I/O, read-only, locked… codes; Postgres's SQLSTATE
 * classes 08 (connection), 53 (out of resources), 57P (shutting down, starting up), 25006
 * (read-only, a standby); and the socket errors of a database that cannot be reached.
 */
const UNAVAILABLE_CODE =
  /^(SQLITE_(IOERR|READONLY|CANTOPEN|BUSY|LOCKED|CORRUPT|NOTADB)|08...|53...|57P0[123]|25006|E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH|NETUNREACH|PIPE|NOTFOUND|AI_AGAIN))/;
/** pg's own errors for a connection it could not make or lost carry no code, only these words. */
const UNAVAILABLE_MESSAGE = /^(timeout exceeded when trying to connect|Connection terminated)/;

/**
 * How a failed store operation should be reported: `full` (the disk is full), `unavailable`
 * (I/O error, read-only, locked, the database unreachable…), or undefined for anything else (a
 * bug, a constraint).
 */
export function storageFailure(err: unknown): 'full' | 'unavailable' | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') {
      if (UNAVAILABLE_MESSAGE.test(e.message)) return 'unavailable';
      if (e instanceof AggregateError && e.errors.some((x) => storageFailure(x))) {
        return 'unavailable';
      }
      continue;
    }
    if (FULL_CODES.has(code)) return 'full';
    if (UNAVAILABLE_CODE.test(code)) return 'unavailable';
  }
  return undefined;
}
