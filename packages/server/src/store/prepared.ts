/**
 * Queries built and compiled once, then run many times with new values. Kysely builds and
 * compiles a query on every call; for the call-history writes, made several times per call, that
 * was most of their cost under load. The SQL still comes from Kysely, so it suits any dialect.
 */
import type { Compilable, CompiledQuery, QueryResult } from 'kysely';

const MARK = '\u0000slot:';

/** Stands in a query built for `prepare` where the value named `name` goes (any column type). */
export function slot<T>(name: string): T {
  return `${MARK}${name}` as T;
}

/** Whatever runs a compiled query: a Kysely instance or a transaction. */
export interface QueryRunner {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

export interface Prepared<V extends Record<string, unknown>> {
  /** Runs the query on `db` with `values` bound by name. */
  run(db: QueryRunner, values: V): Promise<QueryResult<unknown>>;
  /** The query with `values` bound by name, to run later. */
  bind(values: V): CompiledQuery;
}

/** Compiles `query`, whose every value must be a `slot()`. */
export function prepare<V extends Record<string, unknown>>(query: Compilable): Prepared<V> {
  const compiled = query.compile();
  const names = compiled.parameters.map((p) => {
    if (typeof p !== 'string' || !p.startsWith(MARK)) {
      throw new Error(`prepare: every value must be a slot(); found ${JSON.stringify(p)}`);
    }
    return p.slice(MARK.length);
  });
  const bind = (values: V): CompiledQuery => ({
    ...compiled,
    parameters: names.map((name) => values[name]),
  });
  return { run: (db, values) => db.executeQuery(bind(values)), bind };
}
