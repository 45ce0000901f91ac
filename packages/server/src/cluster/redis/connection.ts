/**
 * Connections to Redis that fail fast: no offline queue and no retried commands, so an operation
 * while Redis is away rejects at once with ClusterUnavailableError instead of waiting for it, and
 * a command Redis does not answer times out. The connections reconnect by themselves (backoff
 * capped at 1 s); `RedisHealth` says whether they are usable.
 */
import { createHash } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import type { Logger } from '../../log.js';
import { ClusterUnavailableError } from '../errors.js';
import type { ClusterHealth, Unsubscribe } from '../types.js';

export interface ConnectionOptions {
  /** A command Redis has not answered after this long fails. */
  commandTimeoutMs: number;
  /** The first connection must be ready within this long. */
  connectTimeoutMs: number;
}

/** A client that is not connected yet: `ready()` connects it. */
export function createClient(url: string, name: string, o: ConnectionOptions): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: o.commandTimeoutMs,
    connectTimeout: o.connectTimeoutMs,
    // Reconnect forever, quickly: a node is useless without Redis, and it must notice it is back.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
    // Subscriptions are renewed by the bus itself on every 'ready' (see bus.ts).
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
  });
}

/** Connects `client`, or rejects with ClusterUnavailableError after `timeoutMs`. */
export async function connectClient(
  client: Redis,
  where: string,
  timeoutMs: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const connecting = client.connect();
  // After a timeout the attempt may still fail later: that must not be an unhandled rejection.
  connecting.catch(() => {});
  try {
    await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    throw new ClusterUnavailableError(`cannot connect to ${where}: ${message(err)}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one Redis operation; a failure to reach Redis (offline, timed out, connection lost
 * mid-command) becomes ClusterUnavailableError, while an error reply from Redis (a bug here) is
 * thrown as it is.
 */
export async function guard<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof ReplyError && !String((err as Error).message).startsWith('LOADING'))
      throw err;
    throw new ClusterUnavailableError(`${what}: ${message(err)}`, { cause: err });
  }
}

/** A Lua script run by its SHA, sent in full only when Redis does not know it yet. */
export class LuaScript {
  readonly #lua: string;
  readonly #sha: string;

  constructor(lua: string) {
    this.#lua = lua;
    this.#sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await client.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof ReplyError) || !String((err as Error).message).startsWith('NOSCRIPT'))
        throw err;
      return client.eval(this.#lua, keys.length, ...keys, ...args);
    }
  }
}

/**
 * Ready while every connection is ready and the last PING answered in time. A PING every
 * `intervalMs` catches a Redis that keeps the connection open but answers nothing (hung, or
 * partitioned without a reset).
 */
export class RedisHealth implements ClusterHealth {
  readonly #clients: Redis[];
  readonly #log: Logger;
  readonly #listeners = new Set<(ready: boolean) => void>();
  readonly #probe: NodeJS.Timeout;
  #pingOk = true;
  #ready = false;
  #closed = false;

  constructor(clients: Redis[], options: { intervalMs: number; logger: Logger; where: string }) {
    this.#clients = clients;
    this.#log = options.logger;
    for (const client of clients) {
      client.on('ready', () => {
        // A fresh connection has just answered; an old failed probe must not hide it.
        this.#pingOk = true;
        this.#update(options.where);
      });
      for (const event of ['close', 'end', 'reconnecting']) {
        client.on(event, () => this.#update(options.where));
      }
      // Without a listener ioredis prints every connection error; the health change says it once.
      client.on('error', (err: unknown) =>
        this.#log.debug('redis connection error', { where: options.where, err }),
      );
    }
    this.#probe = setInterval(() => {
      const client = clients[0];
      if (!client || client.status !== 'ready') return;
      client.ping().then(
        () => {
          this.#pingOk = true;
          this.#update(options.where);
        },
        () => {
          this.#pingOk = false;
          this.#update(options.where);
        },
      );
    }, options.intervalMs);
    this.#probe.unref();
    this.#ready = this.#compute();
  }

  get ready(): boolean {
    return this.#ready;
  }

  onChange(listener: (ready: boolean) => void): Unsubscribe {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    this.#ready = false;
    clearInterval(this.#probe);
    this.#listeners.clear();
  }

  #compute(): boolean {
    return !this.#closed && this.#pingOk && this.#clients.every((c) => c.status === 'ready');
  }

  #update(where: string): void {
    if (this.#closed) return;
    const next = this.#compute();
    if (next === this.#ready) return;
    this.#ready = next;
    if (next) this.#log.info('redis reachable', { where });
    else this.#log.warn('redis unreachable; refusing work that needs it', { where });
    for (const listener of [...this.#listeners]) {
      try {
        listener(next);
      } catch (err) {
        this.#log.error('cluster health listener failed', { err });
      }
    }
  }
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
