/**
 * A small signalling client for tests: real `ws` WebSocket, request/reply by id, and waiting for
 * pushes by type instead of sleeping.
 */
import { WebSocket, type ClientOptions } from 'ws';
import {
  PROTOCOL_VERSION,
  SIGNAL_PATH,
  type ClientRequestOf,
  type ClientRequestType,
  type ErrorMessage,
  type DrainingMessage,
  type PushMessage,
  type PushType,
  type RequestResults,
  type ServerMessage,
  type WireError,
} from '@ringline/protocol';
import { genUserSig } from '../auth/usersig.js';

type Fields<T extends ClientRequestType> = Omit<ClientRequestOf<T>, 'id' | 'type'>;
export type PushOf<T extends PushType> = Extract<PushMessage, { type: T }>;
type Reply<T extends ClientRequestType> =
  | { type: 'reply'; id: number; ok: true; result: RequestResults[T] }
  | { type: 'reply'; id: number; ok: false; error: WireError };

/** A failed request, as thrown by `call`. */
export class RequestFailed extends Error {
  constructor(readonly error: WireError) {
    super(`${error.name} (${error.code}): ${error.message}`);
  }
}

interface Waiter {
  match: (m: ServerMessage) => boolean;
  resolve: (m: ServerMessage) => void;
  reject: (err: Error) => void;
}

export class TestClient {
  /** Every push received, in order (consumed or not). */
  readonly pushes: PushMessage[] = [];
  /** Every `error` message received. */
  readonly errors: ErrorMessage[] = [];
  /** Every `draining` notice received. */
  readonly drainings: DrainingMessage[] = [];
  /** How many replies were received. */
  replies = 0;
  /** Messages not yet taken by a waiter, in order. */
  readonly #unclaimed: ServerMessage[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #closed: Promise<{ code: number; reason: string }>;
  #nextId = 1;
  /** Highest push seq seen. */
  lastSeq = 0;
  userID: string | undefined;
  sessionID: string | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.#onMessage(JSON.parse(data.toString()) as ServerMessage));
    this.#closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        // Whatever was still awaited will not come any more.
        for (const w of this.#waiters.splice(0)) w.reject(new Error(`connection closed (${code})`));
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  /**
   * Opens a WebSocket to the server at `httpUrl` (http(s)://host:port); `options` go to `ws`
   * (e.g. `ca` to trust a test certificate).
   */
  static async connect(httpUrl: string, options?: ClientOptions): Promise<TestClient> {
    const ws = new WebSocket(httpUrl.replace(/^http/, 'ws') + SIGNAL_PATH, options);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new TestClient(ws);
  }

  /** Connects and logs in `userID` with a valid userSig for `server`. */
  static async login(
    server: { url: string; sdkAppID: number; secretKey: string },
    userID: string,
    options?: ClientOptions,
  ): Promise<TestClient> {
    const client = await TestClient.connect(server.url, options);
    await client.login(server, userID);
    return client;
  }

  async login(
    server: { sdkAppID: number; secretKey: string },
    userID: string,
    extra: Partial<Fields<'login'>> = {},
  ): Promise<RequestResults['login']> {
    const { sdkAppID, secretKey } = server;
    const result = await this.call('login', {
      sdkAppID,
      userID,
      userSig: genUserSig({ sdkAppID, secretKey, userID }),
      protocol: PROTOCOL_VERSION,
      ...extra,
    });
    this.userID = userID;
    this.sessionID = result.sessionID;
    return result;
  }

  /** Sends a request and resolves with its reply, whether ok or not. */
  async request<T extends ClientRequestType>(type: T, fields: Fields<T>): Promise<Reply<T>> {
    const id = this.#nextId++;
    const reply = this.#waitFor((m) => m.type === 'reply' && m.id === id, 5000, `reply to ${type}`);
    this.send({ id, type, ...fields });
    return (await reply) as Reply<T>;
  }

  /** Sends a request and resolves with its result; rejects with RequestFailed. */
  async call<T extends ClientRequestType>(type: T, fields: Fields<T>): Promise<RequestResults[T]> {
    const reply = await this.request(type, fields);
    if (!reply.ok) throw new RequestFailed(reply.error);
    return reply.result;
  }

  /** Sends a request expected to fail and resolves with its error. */
  async fail<T extends ClientRequestType>(type: T, fields: Fields<T>): Promise<WireError> {
    const reply = await this.request(type, fields);
    if (reply.ok)
      throw new Error(`${type} unexpectedly succeeded: ${JSON.stringify(reply.result)}`);
    return reply.error;
  }

  /** Resolves with the next push of `type` (matching `where`) not yet taken by an earlier wait. */
  waitForPush<T extends PushType>(
    type: T,
    where: (p: PushOf<T>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<PushOf<T>> {
    return this.#waitFor(
      (m) => m.type === type && 'seq' in m && where(m as PushOf<T>),
      timeoutMs,
      `push ${type}`,
    ) as Promise<PushOf<T>>;
  }

  /** Resolves with the next `draining` notice (the server node is shutting down). */
  waitForDraining(timeoutMs = 5000): Promise<DrainingMessage> {
    return this.#waitFor(
      (m) => m.type === 'draining',
      timeoutMs,
      'draining notice',
    ) as Promise<DrainingMessage>;
  }

  /** Resolves with the next `error` message. */
  waitForError(timeoutMs = 5000): Promise<ErrorMessage> {
    return this.#waitFor(
      (m) => m.type === 'error',
      timeoutMs,
      'error message',
    ) as Promise<ErrorMessage>;
  }

  /** Pushes received and not yet taken by a wait, in order. */
  unclaimedPushes(): PushMessage[] {
    return this.#unclaimed.filter(
      (m): m is PushMessage => m.type !== 'reply' && m.type !== 'error' && m.type !== 'draining',
    );
  }

  /**
   * A round trip: everything the server sent this client before answering is in by now. Used to
   * assert that something was *not* pushed, without sleeping.
   */
  async sync(): Promise<void> {
    await this.request('ping', {});
  }

  /** Sends any value as JSON (or a raw string/buffer as is). */
  send(value: unknown): void {
    this.ws.send(
      typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value),
    );
  }

  /** Resolves when the connection closes. */
  closed(): Promise<{ code: number; reason: string }> {
    return this.#closed;
  }

  /** Closes the connection and waits for it to be closed. */
  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.#closed;
  }

  /** Drops the TCP connection without a close handshake (as a lost network would). */
  async drop(): Promise<void> {
    this.ws.terminate();
    await this.#closed;
  }

  #onMessage(message: ServerMessage): void {
    if (message.type === 'error') this.errors.push(message);
    else if (message.type === 'reply') this.replies++;
    else if (message.type === 'draining') this.drainings.push(message);
    else {
      this.pushes.push(message);
      this.lastSeq = Math.max(this.lastSeq, message.seq);
    }
    const i = this.#waiters.findIndex((w) => w.match(message));
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1);
      w!.resolve(message);
    } else {
      this.#unclaimed.push(message);
    }
  }

  #waitFor(
    match: (m: ServerMessage) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<ServerMessage> {
    const i = this.#unclaimed.findIndex(match);
    if (i >= 0) return Promise.resolve(this.#unclaimed.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        const seen = this.#unclaimed.map((m) => m.type).join(', ') || 'nothing';
        reject(
          new Error(
            `${this.userID ?? 'client'}: no ${what} within ${timeoutMs} ms (unclaimed: ${seen})`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }
}
