import {
  PROTOCOL_VERSION,
  SdkErrorCode,
  ServerErrorCode,
  type ClientRequestOf,
  type ClientRequestType,
  type KickReason,
  type PushPayloads,
  type PushType,
  type RequestResults,
} from '@ringline/protocol';
import { CallError } from '../errors.js';
import { TypedEmitter } from '../events/Emitter.js';
import { StateMachine, type TransitionTable } from '../engine/StateMachine.js';
import { abortError } from '../util/guard.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { PushSequencer } from './PushSequencer.js';

// Listener parameters checked both ways, so both the DOM WebSocket and `ws` fit (as React's types do).
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of the WHATWG WebSocket the client uses (the browser's, or `ws`'s in Node). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `ws`'s WebSocket in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

/** A request's fields, without the envelope the client adds. */
export type RequestFields<T extends ClientRequestType> = Omit<ClientRequestOf<T>, 'id' | 'type'>;

/** What `login` needs. */
export interface Credentials {
  sdkAppID: number;
  userID: string;
  userSig: string;
}

/** The login reply: session, ICE servers and the server's timing. */
export type SessionInfo = RequestResults['login'];

/** Per-request options. */
export interface RequestOptions<T extends ClientRequestType> {
  /** Fail with SIGNAL_TIMEOUT when no reply came in this time (default `requestTimeoutMs`). */
  timeoutMs?: number;
  /**
   * Runs synchronously when the successful reply is read, before any later frame is handled, so
   * pushes that follow the reply (e.g. `lineBusy` right after `invite`) see its effects.
   */
  onReply?: (result: RequestResults[T]) => void;
}

/** Options of a SignalClient. */
export interface SignalClientOptions {
  /** `ws(s)://host:port/ws`. */
  url: string;
  /** The WebSocket class to use; default `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Default time a request may wait for its reply, ms (10 s). */
  requestTimeoutMs?: number;
  /** Time opening the socket may take, ms (10 s). */
  connectTimeoutMs?: number;
  /** Reconnect spacing (500 ms doubling up to 10 s) and how many attempts before giving up (∞). */
  reconnect?: Partial<BackoffOptions> & { maxAttempts?: number };
  /**
   * The longest random wait before reconnecting when the server says it is draining, ms (1 s; at
   * most half the time it has left): a whole node's clients do not come back in one instant.
   */
  drainJitterMs?: number;
  logger?: Logger;
}

/** The client's connection to the server. */
export enum SignalState {
  /** Not connected yet. */
  Idle = 'idle',
  /** Opening the socket and logging in for the first time. */
  Connecting = 'connecting',
  /** Logged in; requests can be sent. */
  Connected = 'connected',
  /** The socket dropped; retrying with backoff and resuming the session. */
  Reconnecting = 'reconnecting',
  /** Stopped for good: closed, kicked, or unable to log in again. */
  Closed = 'closed',
}

const signalTransitions: TransitionTable<SignalState> = {
  [SignalState.Idle]: [SignalState.Connecting, SignalState.Closed],
  [SignalState.Connecting]: [SignalState.Connected, SignalState.Closed],
  [SignalState.Connected]: [SignalState.Reconnecting, SignalState.Closed],
  [SignalState.Reconnecting]: [SignalState.Connected, SignalState.Closed],
  [SignalState.Closed]: [],
};

/** Why the client stopped for good. */
export type SignalClosedInfo =
  | { reason: 'closed' }
  | { reason: 'kicked'; kickReason: KickReason }
  | { reason: 'failed'; error: CallError };

/** Lifecycle events of the client. */
export enum SignalEvent {
  /** The connection state changed. */
  StateChanged = 'stateChanged',
  /** A reconnect resumed the same session; missed pushes follow in order. */
  Resumed = 'resumed',
  /** A reconnect found the session gone (`resumed: false`): the client runs a fresh session. */
  SessionLost = 'sessionLost',
  /** The client stopped for good (not emitted when the first connect() fails: it rejects). */
  Closed = 'closed',
  /** The server sent an `error` frame that no request could be matched to. */
  ServerError = 'serverError',
}

/** Listener signatures of the SignalClient's events. */
export interface SignalCallbacks {
  [SignalEvent.StateChanged]: (next: SignalState, prev: SignalState) => void;
  [SignalEvent.Resumed]: (sessionID: string) => void;
  [SignalEvent.SessionLost]: (info: { previousSessionID: string; sessionID: string }) => void;
  [SignalEvent.Closed]: (info: SignalClosedInfo) => void;
  /** An `error` frame; `request` is the notification it refuses, if it names one. */
  [SignalEvent.ServerError]: (error: CallError, request: string | undefined) => void;
}

/** A server push as delivered to listeners: its fields plus `seq`. */
export type Push<T extends PushType> = PushPayloads[T] & { seq: number };

/** Listener signatures of server pushes, keyed by push type. */
export type PushCallbacks = { [T in PushType]: (push: Push<T>) => void };

interface Pending {
  type: string;
  timer: ReturnType<typeof setTimeout>;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
  onReply: ((result: never) => void) | undefined;
}

// Login failures that another attempt cannot fix.
const fatalLoginCodes = new Set<number>([
  ServerErrorCode.USERSIG_INVALID,
  ServerErrorCode.USERSIG_EXPIRED,
  ServerErrorCode.USERSIG_WRONG_APP,
  ServerErrorCode.USERSIG_WRONG_USER,
  ServerErrorCode.UNKNOWN_APP,
  ServerErrorCode.INVALID_FIELD,
  ServerErrorCode.INVALID_USER_ID,
]);

const noop = (): void => {};

/** How long an immediate check of the connection (probe()) waits for its pong, ms. */
export const PROBE_TIMEOUT_MS = 1_000;

/** On `draining`, how many 50 ms waits for replies under way before the socket is dropped anyway. */
const DRAIN_REPLY_WAITS = 40;

/**
 * The SDK's WebSocket to the server: request/reply by id with a timeout each, push dispatch by
 * type, `seq` tracking with `ping {ack}`, and automatic reconnect (exponential backoff with jitter)
 * that resumes the session so that pushes sent meanwhile are replayed.
 */
export class SignalClient extends TypedEmitter<SignalCallbacks> {
  /** Server pushes, by type; duplicates (seq not above the last) are dropped before this. */
  readonly pushes = new TypedEmitter<PushCallbacks>();

  readonly #url: string;
  readonly #WebSocket: WebSocketConstructor | undefined;
  readonly #requestTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #backoff: BackoffOptions;
  readonly #maxAttempts: number;
  readonly #log: Logger;
  readonly #machine: StateMachine<SignalState>;
  readonly #seq = new PushSequencer();
  readonly #pending = new Map<number, Pending>();
  #ws: WebSocketLike | undefined;
  #nextId = 1;
  #credentials: Credentials | undefined;
  #session: SessionInfo | undefined;
  #attempt = 0;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #opening: AbortController | undefined;
  #probing = false;
  readonly #drainJitterMs: number;
  /** The reconnect a `draining` notice asked for, waiting for its jitter. */
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: SignalClientOptions) {
    super();
    this.#url = options.url;
    this.#WebSocket =
      options.WebSocket ??
      ((globalThis as { WebSocket?: unknown }).WebSocket as WebSocketConstructor | undefined);
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#backoff = {
      initialDelayMs: options.reconnect?.initialDelayMs ?? 500,
      maxDelayMs: options.reconnect?.maxDelayMs ?? 10_000,
    };
    this.#maxAttempts = options.reconnect?.maxAttempts ?? Infinity;
    this.#drainJitterMs = Math.max(0, options.drainJitterMs ?? 1_000);
    this.#log = options.logger ?? silentLogger;
    this.#machine = new StateMachine(
      'signal',
      signalTransitions,
      SignalState.Idle,
      this.#log,
      (n, p) => this.emit(SignalEvent.StateChanged, n, p),
    );
  }

  /** The connection state. */
  get state(): SignalState {
    return this.#machine.state;
  }

  /** The current session (login reply), once logged in. */
  get session(): SessionInfo | undefined {
    return this.#session;
  }

  /** The highest push seq received in the current session. */
  get lastSeq(): number {
    return this.#seq.lastSeq;
  }

  /**
   * Opens the socket and logs in. Rejects with the server's code (e.g. USERSIG_INVALID), or
   * SIGNAL_DISCONNECTED / SIGNAL_TIMEOUT when the server cannot be reached; the client is then closed.
   */
  async connect(credentials: Credentials, signal?: AbortSignal): Promise<SessionInfo> {
    if (this.state !== SignalState.Idle) throw CallError.invalidState('connect', this.state);
    this.#credentials = credentials;
    this.#machine.set(SignalState.Connecting);
    const onAbort = (): void => this.#shutdown({ reason: 'closed' }, false);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      signal?.throwIfAborted();
      const ws = await this.#open();
      return await this.#login(ws, undefined);
    } catch (error) {
      this.#shutdown({ reason: 'closed' }, false);
      throw signal?.aborted ? abortError(signal) : CallError.from(error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Sends a request and resolves with its result, or rejects with the server's error, SIGNAL_TIMEOUT,
   * or SIGNAL_DISCONNECTED. While reconnecting, the request waits (within its timeout) for the
   * connection to come back.
   */
  async request<T extends ClientRequestType>(
    type: T,
    fields: RequestFields<T>,
    options: RequestOptions<T> = {},
  ): Promise<RequestResults[T]> {
    const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
    const started = Date.now();
    const ws = await this.#connected(type, timeoutMs);
    return this.#send(ws, type, fields, {
      ...options,
      timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)),
    });
  }

  /**
   * Sends a `signal` as a notification, without an id: the server relays it with no reply, and
   * reports a refusal as an `error` frame naming it (SignalEvent.ServerError). Resolves once sent;
   * rejects as `request` does when it cannot be sent.
   */
  async notify(type: 'signal', fields: RequestFields<'signal'>): Promise<void> {
    const ws = await this.#connected(type, this.#requestTimeoutMs);
    try {
      ws.send(JSON.stringify({ type, ...fields }));
    } catch (error) {
      throw CallError.disconnected(`cannot send ${type}`, error);
    }
  }

  /** The open socket, once connected (waiting, within `timeoutMs`, while reconnecting). */
  async #connected(type: string, timeoutMs: number): Promise<WebSocketLike> {
    // The socket may have died a moment ago, before its close event: reconnect first.
    const current = this.#ws;
    if (this.state === SignalState.Connected && current && current.readyState !== OPEN) {
      this.#lose(current, 'the socket closed');
    }
    if (this.state === SignalState.Reconnecting) await this.#whenConnected(type, timeoutMs);
    const ws = this.#ws;
    if (this.state !== SignalState.Connected || !ws || ws.readyState !== OPEN) {
      throw CallError.disconnected(`cannot send ${type} while ${this.state}`);
    }
    return ws;
  }

  /**
   * Checks the connection now, out of turn: a ping that must be answered within `timeoutMs`. A
   * socket whose path died (the client's address changed) is then dropped and the session resumed
   * at once — the server replays the pushes it sent to the dead socket — instead of at the next
   * regular ping, or never while the OS still thinks the socket is fine. One probe at a time.
   */
  probe(timeoutMs: number = PROBE_TIMEOUT_MS): void {
    const ws = this.#ws;
    if (this.state !== SignalState.Connected || !ws || this.#probing) return;
    if (ws.readyState !== OPEN) {
      this.#lose(ws, 'the socket closed', true);
      return;
    }
    this.#probing = true;
    this.#send(ws, 'ping', { ack: this.#seq.lastSeq }, { timeoutMs })
      .catch((error: unknown) => {
        if (error instanceof CallError && error.code === SdkErrorCode.SIGNAL_TIMEOUT) {
          this.#lose(ws, `probe unanswered in ${timeoutMs} ms`, true);
        }
      })
      .finally(() => {
        this.#probing = false;
      });
  }

  /** Stops for good: closes the socket, rejects pending requests, clears timers. Idempotent. */
  close(): void {
    if (this.state === SignalState.Closed) return;
    this.#shutdown({ reason: 'closed' }, this.state !== SignalState.Idle);
  }

  #open(): Promise<WebSocketLike> {
    const WebSocketImpl = this.#WebSocket;
    if (!WebSocketImpl) {
      return Promise.reject(CallError.webrtcUnsupported('WebSocket'));
    }
    const opening = new AbortController();
    this.#opening = opening;
    const url = this.#url;
    return new Promise<WebSocketLike>((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = new WebSocketImpl(url);
      } catch (error) {
        reject(CallError.disconnected(`cannot open ${url}`, error));
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        opening.signal.removeEventListener('abort', onAbort);
        if (this.#opening === opening) this.#opening = undefined;
      };
      const fail = (error: CallError): void => {
        done();
        detach(ws);
        try {
          ws.close();
        } catch {
          // Already closing.
        }
        reject(error);
      };
      const onAbort = (): void => fail(CallError.disconnected('the client was closed'));
      const timer = setTimeout(
        () => fail(CallError.timeout(`connecting to ${url}`, this.#connectTimeoutMs)),
        this.#connectTimeoutMs,
      );
      opening.signal.addEventListener('abort', onAbort, { once: true });
      // `ws` throws on an 'error' event nobody listens to, so a socket always keeps a handler.
      ws.onerror = noop;
      ws.onclose = (event) =>
        fail(CallError.disconnected(`connection to ${url} failed (close code ${event?.code})`));
      ws.onopen = () => {
        done();
        this.#attach(ws);
        resolve(ws);
      };
    });
  }

  #attach(ws: WebSocketLike): void {
    this.#ws = ws;
    ws.onmessage = (event) => this.#onMessage(ws, event.data);
    ws.onclose = (event) => this.#lose(ws, `closed by the server (code ${event?.code})`);
    ws.onerror = (event) => this.#log.debug('socket error', event);
  }

  #login(ws: WebSocketLike, resume: { sessionID: string; lastSeq: number } | undefined) {
    const { sdkAppID, userID, userSig } = this.#credentials!;
    return this.#send(
      ws,
      'login',
      { sdkAppID, userID, userSig, protocol: PROTOCOL_VERSION, ...(resume ? { resume } : {}) },
      { onReply: (result) => this.#loggedIn(result, resume !== undefined) },
    );
  }

  // Runs synchronously on the login reply, before the replayed pushes behind it are read.
  #loggedIn(session: SessionInfo, resuming: boolean): void {
    const previous = this.#session;
    this.#session = session;
    if (!session.resumed) this.#seq.reset();
    this.#attempt = 0;
    this.#machine.set(SignalState.Connected);
    this.#startPing(session.pingInterval);
    if (!resuming || !previous) return;
    if (session.resumed) {
      this.#log.info(`session ${session.sessionID} resumed after seq ${this.#seq.lastSeq}`);
      this.emit(SignalEvent.Resumed, session.sessionID);
    } else {
      this.#log.warn(`session ${previous.sessionID} was lost; now ${session.sessionID}`);
      this.emit(SignalEvent.SessionLost, {
        previousSessionID: previous.sessionID,
        sessionID: session.sessionID,
      });
    }
  }

  #send<T extends ClientRequestType>(
    ws: WebSocketLike,
    type: T,
    fields: RequestFields<T>,
    options: RequestOptions<T>,
  ): Promise<RequestResults[T]> {
    const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
    if (ws.readyState !== OPEN) {
      return Promise.reject(CallError.disconnected(`cannot send ${type}: the socket is not open`));
    }
    const id = this.#nextId++;
    return new Promise<RequestResults[T]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(CallError.timeout(`${type} request`, timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, {
        type,
        timer,
        resolve: resolve as (result: unknown) => void,
        reject,
        onReply: options.onReply as ((result: never) => void) | undefined,
      });
      try {
        ws.send(JSON.stringify({ id, type, ...fields }));
      } catch (error) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(CallError.disconnected(`cannot send ${type}`, error));
      }
    });
  }

  #onMessage(ws: WebSocketLike, data: unknown): void {
    if (ws !== this.#ws) return;
    let message: unknown;
    try {
      message = JSON.parse(typeof data === 'string' ? data : String(data));
    } catch {
      this.#log.warn('ignoring a frame that is not JSON');
      return;
    }
    if (!message || typeof message !== 'object') return;
    const msg = message as { type?: unknown; id?: unknown; seq?: unknown };
    if (msg.type === 'reply') {
      this.#onReply(message as ReplyFrame);
    } else if (msg.type === 'draining') {
      this.#onDraining(ws, (message as { timeLeftMs?: unknown }).timeLeftMs);
    } else if (msg.type === 'error') {
      const frame = message as { error?: ReplyFrame['error']; request?: string };
      const error = CallError.fromWire(wireError(frame.error));
      this.#log.warn(`the server refused ${frame.request ?? 'a frame'}`, error);
      this.emit(SignalEvent.ServerError, error, frame.request);
    } else if (typeof msg.type === 'string') {
      this.#onPush(msg.type as PushType, message as Push<PushType>);
    }
  }

  #onReply(reply: ReplyFrame): void {
    const pending = typeof reply.id === 'number' ? this.#pending.get(reply.id) : undefined;
    if (!pending) {
      this.#log.debug(`reply ${reply.id} matches no pending request`);
      return;
    }
    this.#pending.delete(reply.id);
    clearTimeout(pending.timer);
    if (!reply.ok) {
      pending.reject(CallError.fromWire(wireError(reply.error)));
      return;
    }
    try {
      pending.onReply?.(reply.result as never);
      pending.resolve(reply.result);
    } catch (error) {
      pending.reject(CallError.from(error));
    }
  }

  #onPush(type: PushType, push: Push<PushType>): void {
    const last = this.#seq.lastSeq;
    if (!this.#seq.accept(push.seq)) {
      this.#log.debug(`dropping duplicate push ${type} seq ${push.seq} (last ${last})`);
      return;
    }
    if (push.seq > last + 1 && last > 0) {
      this.#log.warn(`pushes ${last + 1}..${push.seq - 1} were missed`);
    }
    if (type === 'kicked') {
      const { reason } = push as Push<'kicked'>;
      this.#log.warn(`kicked by the server: ${reason}`);
      this.#shutdown({ reason: 'kicked', kickReason: reason }, true);
      return;
    }
    (this.pushes.emit as (t: PushType, p: unknown) => boolean)(type, push);
  }

  /**
   * The server node is draining (shutting down): the session is kept, so reconnect and resume it —
   * through the balancer on another node, or here once the node is back — after a short random
   * wait, and once no request is waiting for its reply (it would be lost with the socket).
   */
  #onDraining(ws: WebSocketLike, timeLeftMs: unknown): void {
    if (this.#drainTimer !== undefined || this.state !== SignalState.Connected) return;
    const left =
      typeof timeLeftMs === 'number' && Number.isFinite(timeLeftMs) ? Math.max(0, timeLeftMs) : 0;
    const delay = Math.round(Math.random() * Math.min(this.#drainJitterMs, left / 2));
    this.#log.info(`the server is draining (${left} ms left): reconnecting in ${delay} ms`);
    let waits = 0;
    const go = (): void => {
      this.#drainTimer = undefined;
      if (ws !== this.#ws || this.state !== SignalState.Connected) return;
      // Bounded: at most DRAIN_REPLY_WAITS × 50 ms for replies under way.
      if (this.#pending.size > 0 && waits++ < DRAIN_REPLY_WAITS) {
        this.#drainTimer = setTimeout(go, 50);
        return;
      }
      this.#lose(ws, 'the server is draining', true);
    };
    this.#drainTimer = setTimeout(go, delay);
  }

  // The socket is gone (closed by the server or the network, or a ping went unanswered).
  // `now`: the loss was looked for (a probe): the first attempt goes out at once, no backoff.
  #lose(ws: WebSocketLike, why: string, now = false): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    detach(ws);
    try {
      ws.close();
    } catch {
      // Already closed.
    }
    this.#stopPing();
    this.#rejectPending(CallError.disconnected(why));
    this.#log.warn(`connection lost: ${why}`);
    if (this.state === SignalState.Connected) {
      this.#machine.set(SignalState.Reconnecting);
      // A socket that dies under a probe was looked for as well.
      this.#scheduleReconnect(now || this.#probing);
    }
  }

  #scheduleReconnect(now = false): void {
    if (this.state !== SignalState.Reconnecting) return;
    if (this.#attempt >= this.#maxAttempts) {
      this.#shutdown(
        {
          reason: 'failed',
          error: CallError.disconnected(`gave up after ${this.#attempt} reconnect attempts`),
        },
        true,
      );
      return;
    }
    const delay = now && this.#attempt === 0 ? 0 : backoffDelay(this.#attempt, this.#backoff);
    this.#attempt++;
    this.#log.info(`reconnecting in ${delay} ms (attempt ${this.#attempt})`);
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(), delay);
  }

  async #reconnect(): Promise<void> {
    this.#reconnectTimer = undefined;
    if (this.state !== SignalState.Reconnecting) return;
    const session = this.#session!;
    try {
      const ws = await this.#open();
      await this.#login(ws, { sessionID: session.sessionID, lastSeq: this.#seq.lastSeq });
    } catch (error) {
      if (this.state !== SignalState.Reconnecting) return;
      const failure = CallError.from(error);
      const ws = this.#ws;
      if (ws) this.#lose(ws, failure.message);
      if (fatalLoginCodes.has(failure.code)) {
        this.#shutdown({ reason: 'failed', error: failure }, true);
        return;
      }
      this.#log.info(`reconnect attempt failed: ${failure.message}`);
      this.#scheduleReconnect();
    }
  }

  #whenConnected(type: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off(SignalEvent.StateChanged, onState);
        reject(CallError.timeout(`${type} request (waiting to reconnect)`, timeoutMs));
      }, timeoutMs);
      const onState = (next: SignalState): void => {
        if (next === SignalState.Reconnecting) return;
        clearTimeout(timer);
        this.off(SignalEvent.StateChanged, onState);
        resolve();
      };
      this.on(SignalEvent.StateChanged, onState);
    });
  }

  #startPing(intervalS: number): void {
    this.#stopPing();
    const intervalMs = Math.max(100, intervalS * 1_000);
    this.#pingTimer = setInterval(() => {
      const ws = this.#ws;
      if (this.state !== SignalState.Connected || !ws) return;
      this.#send(
        ws,
        'ping',
        { ack: this.#seq.lastSeq },
        {
          timeoutMs: Math.min(this.#requestTimeoutMs, intervalMs),
        },
      ).catch((error: unknown) => {
        // An unanswered ping means a dead connection the OS has not noticed: drop it and resume.
        if (error instanceof CallError && error.code === SdkErrorCode.SIGNAL_TIMEOUT) {
          this.#lose(ws, 'ping unanswered');
        }
      });
    }, intervalMs);
  }

  #stopPing(): void {
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  #rejectPending(error: CallError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  #shutdown(info: SignalClosedInfo, announce: boolean): void {
    if (this.state === SignalState.Closed) return;
    this.#machine.set(SignalState.Closed);
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    this.#stopPing();
    this.#opening?.abort();
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws) {
      detach(ws);
      try {
        ws.close(1000, 'client closed');
      } catch {
        // Already closed.
      }
    }
    this.#rejectPending(
      info.reason === 'failed'
        ? info.error
        : CallError.disconnected(`the client was ${info.reason}`),
    );
    if (announce) this.emit(SignalEvent.Closed, info);
  }
}

interface ReplyFrame {
  type: 'reply';
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { code?: unknown; name?: unknown; message?: unknown };
}

function wireError(error: ReplyFrame['error']): { code: number; name: string; message: string } {
  return {
    code: typeof error?.code === 'number' ? error.code : ServerErrorCode.INTERNAL,
    name: typeof error?.name === 'string' ? error.name : 'INTERNAL',
    message: typeof error?.message === 'string' ? error.message : 'the server sent an error',
  };
}

// Keeps a closed socket's late events away from the client (with handlers, so `ws` never throws).
function detach(ws: WebSocketLike): void {
  ws.onopen = noop;
  ws.onmessage = noop;
  ws.onclose = noop;
  ws.onerror = noop;
}
