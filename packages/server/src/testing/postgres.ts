/**
 * A real PostgreSQL for tests: Debian's server (`initdb` + `pg_ctl` from /usr/lib/postgresql/15)
 * in a temporary directory, on 127.0.0.1 and a free port, its unix socket in that directory, trust
 * auth. Postgres refuses to run as root, so under root it runs as `nobody`, who owns the directory.
 * initdb takes seconds: start one server per test file and make a database per test.
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Where Debian's postgresql-15 package puts its programs. */
export const POSTGRES_BIN = process.env.RINGLINE_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

/** The unprivileged user Postgres runs as when the tests run as root. */
const UNPRIVILEGED = { name: 'nobody', uid: 65534, gid: 65534 };

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres — the server's maintenance database. */
  url: string;
  /** Makes an empty database and resolves with its URL; each test gets its own. */
  createDatabase(): Promise<string>;
  /** Kills the server as a crash would (`pg_ctl stop -m immediate`), keeping its data. */
  halt(): Promise<void>;
  /** Starts the halted server again on the same port; resolves once it accepts connections. */
  resume(): Promise<void>;
  /** Stops the server at once (`pg_ctl stop -m immediate`) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs one of Postgres's programs, as `nobody` when we are root. */
async function pgTool(tool: string, args: string[], cwd: string): Promise<string> {
  const program = join(POSTGRES_BIN, tool);
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot
    ? ['runuser', ['-u', UNPRIVILEGED.name, '--', program, ...args]]
    : [program, args];
  try {
    const { stdout } = await run(file, argv, { cwd, timeout: 120_000 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`${tool} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`, {
      cause: err,
    });
  }
}

/** Starts a fresh PostgreSQL server; resolves once it accepts connections. */
export async function startPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'ringline-pg-'));
  if (process.getuid?.() === 0) chownSync(dir, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  const data = join(dir, 'data');
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  let started = false;
  try {
    await pgTool(
      'initdb',
      ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-locale'],
      dir,
    );
    const pgStart = (port: number) =>
      pgTool(
        'pg_ctl',
        [
          'start',
          ...['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o'],
          [
            `-c listen_addresses=127.0.0.1`,
            `-p ${port}`,
            `-k ${dir}`,
            // A test database need not survive a power cut (a killed server keeps its commits:
            // they are in the OS's cache, and synchronous_commit stays on for halt/resume).
            `-c fsync=off -c full_page_writes=off`,
          ].join(' '),
        ],
        dir,
      );
    const halt = () => pgTool('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w'], dir);
    // Another process may take the free port before Postgres binds it: try a few.
    let port = 0;
    for (let attempt = 0; attempt < 3 && !started; attempt++) {
      port = await freePort();
      try {
        await pgStart(port);
        started = true;
      } catch (err) {
        if (attempt === 2) throw err;
      }
    }
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    let databases = 0;
    let stopping: Promise<void> | undefined;
    return {
      url,
      async createDatabase() {
        const name = `t${process.pid}_${++databases}`;
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(`create database "${name}"`);
        } finally {
          await client.end();
        }
        return `postgres://postgres@127.0.0.1:${port}/${name}`;
      },
      halt: async () => {
        await halt();
        started = false;
      },
      resume: async () => {
        await pgStart(port);
        started = true;
      },
      stop: () =>
        (stopping ??= (async () => {
          try {
            if (started) await halt();
          } finally {
            removeDir();
          }
        })()),
    };
  } catch (err) {
    if (started) await pgTool('pg_ctl', ['stop', '-D', data, '-m', 'immediate'], dir);
    removeDir();
    throw err;
  }
}
