/**
 * WebSocket signalling: connections, sessions, login/resume/kick, heartbeat, and the dispatch of
 * validated requests to the call service. Sessions live on the node holding their connection;
 * where a user's session is, and everything about calls, lives in the cluster adapters.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import {
  KickReason,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  SIGNAL_PATH,
  type ClientRequest,
  type IceConfig,
  type RequestResults,
  type ServerMessage,
} from '@ringline/protocol';
import { verifyUserSig } from '../auth/usersig.js';
import type { CallService } from '../calls/service.js';
import {
  deviceKey,
  parseDeviceKey,
  parseSessionTimerKey,
  sessionTimerKey,
} from '../cluster/keys.js';
import type {
  BusMessage,
  DeviceStore,
  LockManager,
  MessageBus,
  NodeRegistry,
  PresenceStore,
  Scheduler,
  SharedSessions,
  Unsubscribe,
} from '../cluster/types.js';
import { ServerError } from '../errors.js';
import { ADMIN_IDENTIFIER } from '../http/admin.js';
import { silentLogger, type Logger } from '../log.js';
import { RETRY_AFTER_S, SLOW_CONSUMER_GRACE_MS, addressKey, type SignalLimits } from './limits.js';
import { TokenBucket, type RateLimitOptions } from './rate-limit.js';
import { parseRequest, type RequestOf } from './validate.js';
import { Session } from './session.js';

/** The largest frame ws will take at all; frames between MAX_FRAME_BYTES and this get an error. */
export const HARD_MAX_PAYLOAD = 1024 * 1024;

/** At shutdown, how long clients get to answer the close frame before their sockets are cut, ms. */
export const SHUTDOWN_CLOSE_GRACE_MS = 1_000;

/** How long a drain waits by default for clients to move and calls to end, ms (`drainTimeoutMs`). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** How often a drain looks again at what is left, ms. */
const DRAIN_POLL_MS = 100;

/** What a drain left on the node when it ended (its log line; tests). */
export interface DrainResult {
  /** Connections still carrying a session that could have moved. */
  connections: number;
  /** Calls still waited for: this node's SFU calls, and (memory state) its sessions' calls. */
  calls: number;
  /** Sessions told to reconnect. */
  told: number;
  /** Whether it ended at the deadline (or was cut short) with something left. */
  timedOut: boolean;
}

/** WebSocket close codes the server uses (docs/protocol.md lists them). */
export const CloseCode = {
  SHUTDOWN: 1001,
  /** Handling a frame failed inside the server; only this connection is closed. */
  INTERNAL_ERROR: 1011,
  KICKED: 4001,
  REPLACED: 4002,
  LOGGED_OUT: 4003,
  /** No successful login within `limits.loginTimeout` seconds of connecting (or of logging out). */
  LOGIN_TIMEOUT: 4004,
  /** More outgoing bytes waiting than `limits.maxBufferedBytes`: the client does not read. */
  SLOW_CONSUMER: 4005,
  /** `limits.rateLimitCloseAfter` frames in a row dropped for the rate limit. */
  RATE_LIMITED: 4006,
} as const;

export interface GatewayOptions {
  nodeID: string;
  sdkAppID: number;
  secretKey: string;
  /** What each session is told about ICE: servers, fresh TURN credentials, policy. */
  ice: IceSource;
  /** Seconds, reported to clients in the login reply. */
  inviteTimeout: number;
  /** Seconds a session waits for its client to come back. */
  resumeWindow: number;
  /** Seconds between client pings; a connection silent for 3 of them is dropped. */
  pingInterval: number;
  rateLimit: RateLimitOptions;
  outboxLimit: number;
  limits: SignalLimits;
  calls: CallService;
  presence: PresenceStore;
  bus: MessageBus;
  locks: LockManager;
  /**
   * Sessions that survive this node (Redis): pushes go through their shared outbox, a session
   * resumes on any node, node liveness is tracked, and the resume window is a cluster timer on
   * `timers` (keys `session:…`). Absent (one in-memory node): sessions and their resume timers
   * live in this node's memory, as before.
   */
  shared?: { sessions: SharedSessions; nodes: NodeRegistry; timers: Scheduler };
  /**
   * `close()` leaves the sessions in the shared state (their calls go on) for their clients to
   * resume after a restart, instead of ending them: the state outlives the process (SQLite on one
   * node). The next process claims this one dead, so sessions not resumed end after the window.
   */
  keepSessionsOnClose?: boolean;
  logger?: Logger;
  /**
   * The client's address for the per-address limits; default the socket's peer. Behind a trusted
   * reverse proxy, the address it forwards (http/proxy.ts).
   */
  clientAddress?: (req: IncomingMessage) => string | undefined;
  /**
   * `--multi-device ring-all`: a login does not end the user's other sessions but adds a device
   * (at most `max`; more are TOO_MANY_DEVICES). Each device's presence, shared session and resume
   * timer are keyed by `deviceKey(userID, sessionID)`; calls hear which device sent a request.
   * Absent: `kick`, a login ends the user's earlier session.
   */
  multiDevice?: { devices: DeviceStore; max: number };
  /**
   * Told once per kicked session, by the node whose login kicked it (webhooks' `user.kicked`).
   * Must not block or throw.
   */
  onKicked?: (userID: string, reason: KickReason) => void;
  /** Called once per request handled: its type, and `ok` or the error name it was refused with. */
  onRequest?: (type: string, result: string) => void;
}

/** Where sessions' ICE configuration comes from (turn/ice-config.ts's IceConfigSource). */
export interface IceSource {
  /** The configuration for a session of `userID` now (TURN credentials minted for it). */
  configFor(userID: string): IceConfig;
  /** Milliseconds after which a session's credentials are renewed with a push; undefined = never. */
  readonly renewAfterMs: number | undefined;
}

/** What one source address holds: its connections, and before login, its request bucket. */
interface AddressState {
  connections: number;
  /** Shared by the address's unauthenticated connections, so that opening more does not help. */
  readonly bucket: TokenBucket;
}

/** How a connection reports a client that does not read what it is sent. */
interface WriteLimits {
  maxBufferedBytes: number;
  maxBufferedBytesBeforeLogin: number;
  onSlow(conn: Connection): void;
}

/** What the edge has refused, dropped or closed since it started. */
export interface EdgeStats {
  /** Frames dropped unanswered for the rate limit. */
  droppedFrames: number;
  /** Upgrades refused for the connection caps. */
  refusedUpgrades: number;
  /** Connections closed as slow consumers. */
  slowConsumers: number;
  /** Connections closed for not logging in in time. */
  loginTimeouts: number;
  /** Connections closed because handling one of their frames failed inside the server. */
  internalErrors: number;
}

/** One WebSocket; logged in when it carries a session. */
class Connection {
  session: Session | undefined;
  lastSeen = Date.now();
  /** Requests run one at a time, in order. */
  queue: Promise<void> = Promise.resolve();
  /** Sessions holding their pushes until the current reply is out. */
  readonly held = new Set<Session>();
  /** Frames dropped in a row for the rate limit (the first of a run is answered, not the rest). */
  dropped = 0;
  /** Closes the connection if it has no session by then. */
  loginTimer: NodeJS.Timeout | undefined;
  /** Closing: nothing more is written to it. */
  closing = false;
  #corked = false;

  constructor(
    readonly ws: WebSocket,
    /** The connection's TCP socket, which ws writes to. */
    private readonly socket: Duplex,
    readonly address: string,
    readonly addressState: AddressState,
    private readonly limits: WriteLimits,
  ) {}

  send(message: ServerMessage): void {
    this.#write(JSON.stringify(message));
  }
  sendPush(json: string): void {
    this.#write(json);
  }

  /**
   * Frames written in one tick (a reply and the pushes it releases, a call's userLeave and
   * callEnded) leave in one write: the socket stays corked until the tick's work is done.
   */
  #write(json: string): void {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.socket.uncork();
      });
    }
    this.ws.send(json);
    // ws's bufferedAmount is the socket's writableLength plus what ws itself still queues: every
    // byte this process holds for the client. A client that does not read lets it grow.
    const max = this.session
      ? this.limits.maxBufferedBytes
      : this.limits.maxBufferedBytesBeforeLogin;
    if (this.ws.bufferedAmount > max) this.limits.onSlow(this);
  }
  hold(session: Session): void {
    if (this.held.has(session)) return;
    session.hold();
    this.held.add(session);
  }
  releaseAll(): void {
    for (const s of this.held) s.release();
    this.held.clear();
  }
}

export class SignalGateway {
  readonly #o: GatewayOptions;
  readonly #log: Logger;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<Connection>();
  /** Connections (from the upgrade on) per source address. */
  readonly #addresses = new Map<string, AddressState>();
  /** Sockets admitted and not yet closed. */
  #open = 0;
  readonly #writeLimits: WriteLimits;
  /** Counters for operators and tests. */
  readonly #stats: EdgeStats = {
    droppedFrames: 0,
    refusedUpgrades: 0,
    slowConsumers: 0,
    loginTimeouts: 0,
    internalErrors: 0,
  };
  /** This node's sessions by id (their connections and outboxes cannot be shared). */
  readonly #sessions = new Map<string, Session>();
  /** Each live session's next TURN credential renewal (one timer per session). */
  readonly #renewals = new Map<Session, NodeJS.Timeout>();
  readonly #sweep: NodeJS.Timeout;
  readonly #unsubscribe: Unsubscribe;
  /** Shared mode: the session-expiry timer subscription, the heartbeat and the outbox sweep. */
  readonly #sharedStops: Array<() => void> = [];
  /** The heartbeat in flight, awaited before a hand-over (a late beat would list the node again). */
  #beating: Promise<void> | undefined;
  /** Draining: no new connection or login; sessions are told to reconnect elsewhere. */
  #draining = false;
  #closing: Promise<void> | undefined;

  constructor(options: GatewayOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: HARD_MAX_PAYLOAD });
    this.#sweep = setInterval(
      () => this.#guard(undefined, () => this.#dropSilent()),
      (options.pingInterval * 1000) / 2,
    );
    this.#sweep.unref();
    this.#unsubscribe = options.bus.subscribe(options.nodeID, (m) => this.#onBus(m));
    if (options.shared) this.#startShared(options.shared);
    this.#writeLimits = {
      maxBufferedBytes: options.limits.maxBufferedBytes,
      maxBufferedBytesBeforeLogin: options.limits.maxBufferedBytesBeforeLogin,
      onSlow: (conn) => this.#onSlow(conn),
    };
  }

  /**
   * Takes WebSocket upgrades on SIGNAL_PATH from `server`; other paths get 404, and upgrades over
   * the connection caps get 503 (in total) or 429 (per address), with Retry-After.
   */
  attach(server: HttpServer): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Node hands the socket over without an error listener: a reset would crash the process.
      socket.on('error', (err) => this.#log.debug('upgrade socket error', { err }));
      try {
        this.#onUpgrade(req, socket, head);
      } catch (err) {
        this.#log.error('upgrade failed', { err });
        socket.destroy();
      }
    });
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== SIGNAL_PATH || this.#closing) return refuse(socket, '404 Not Found');
    // Draining: the balancer (told by /readyz) and the client's retry go to another node.
    if (this.#draining) return refuse(socket, '503 Service Unavailable', RETRY_AFTER_S);
    const limits = this.#o.limits;
    const address = addressKey(
      this.#o.clientAddress ? this.#o.clientAddress(req) : req.socket.remoteAddress,
    );
    let state = this.#addresses.get(address);
    if (this.#open >= limits.maxConnections) {
      this.#stats.refusedUpgrades++;
      return refuse(socket, '503 Service Unavailable', RETRY_AFTER_S);
    }
    if (state && state.connections >= limits.maxConnectionsPerAddress) {
      this.#stats.refusedUpgrades++;
      return refuse(socket, '429 Too Many Requests', RETRY_AFTER_S);
    }
    if (!state) {
      state = { connections: 0, bucket: new TokenBucket(limits.preLoginRateLimit) };
      this.#addresses.set(address, state);
    }
    // Counted from here to the socket's end, the handshake included.
    const admitted = state;
    admitted.connections++;
    this.#open++;
    socket.once('close', () => {
      admitted.connections--;
      this.#open--;
    });
    this.#wss.handleUpgrade(req, socket, head, (ws) =>
      this.#guard(undefined, () => this.#onConnection(ws, socket, address, admitted)),
    );
  }

  /** Where the session's presence, shared session and resume timer are kept (the user, or its device). */
  #key(userID: string, sessionID: string): string {
    return this.#o.multiDevice ? deviceKey(userID, sessionID) : userID;
  }

  /**
   * The user's session `sessionID` ended for good (its presence is removed): with `kick`, the user
   * leaves their calls and invitations. With `ring-all`, the device goes; the user leaves only if
   * it was the device in their call, or their last device (no other could answer what rings).
   */
  async #sessionGone(userID: string, sessionID: string): Promise<void> {
    const md = this.#o.multiDevice;
    if (md) {
      const before = await md.devices.get(userID);
      await md.devices.remove(userID, sessionID);
      const wasActive = before.active?.sessionID === sessionID;
      const others = before.sessionIDs.filter((sid) => sid !== sessionID);
      if (!wasActive && others.length) return;
    }
    await this.#o.calls.leaveAll(userID);
  }

  /** Sessions on this node (for tests and metrics). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Connections open (handshakes included), and what the edge has refused, dropped or closed. */
  get stats(): Readonly<EdgeStats> & { connections: number; iceRenewals: number } {
    return { ...this.#stats, connections: this.#open, iceRenewals: this.#renewals.size };
  }

  /**
   * Drains before `close()`: upgrades are refused (503) and logins answered SERVER_DRAINING; a
   * session that outlives this node (`shared`, or `keepSessionsOnClose`) is told `draining` — at
   * once when another node can take it, else (a single node) once it is in no call this node's
   * SFU carries — and its client reconnects and resumes elsewhere, or here after the restart.
   * Resolves with what was left once nothing is left to wait for, at `timeoutMs`, or when `cut`
   * resolves. Waited for: with shared sessions, connections carrying a session; without any
   * (memory), sessions in a call; always, the calls `ownCalls` lists (this node's Janus's).
   */
  async drain(o: {
    timeoutMs: number;
    cut: Promise<void>;
    ownCalls: () => Promise<string[]>;
  }): Promise<DrainResult> {
    this.#draining = true;
    const deadline = Date.now() + Math.max(0, o.timeoutMs);
    const elsewhere = this.#o.shared !== undefined && !this.#o.keepSessionsOnClose;
    const survive = this.#o.shared !== undefined && !!this.#o.keepSessionsOnClose;
    const notified = new WeakSet<Connection>();
    let cut = false;
    void o.cut.then(() => (cut = true));
    let told = 0;
    const tell = (conn: Connection): void => {
      if (notified.has(conn) || conn.closing) return;
      notified.add(conn);
      told++;
      conn.send({ type: 'draining', timeLeftMs: Math.max(0, deadline - Date.now()) });
    };
    let left = { connections: 0, calls: 0 };
    // Bounded: one look per DRAIN_POLL_MS until the deadline.
    const rounds = Math.ceil(Math.max(0, o.timeoutMs) / DRAIN_POLL_MS) + 1;
    for (let round = 0; round < rounds && !cut; round++) {
      try {
        const own = new Set(await o.ownCalls());
        let connections = 0;
        let inCalls = 0;
        for (const conn of [...this.#connections]) {
          const session = conn.session;
          if (!session || conn.closing) continue;
          if (elsewhere) {
            tell(conn);
            connections++;
          } else if (survive) {
            // A member of a call this node's SFU carries stays to end it here.
            const callID = own.size ? await this.#o.calls.callOf(session.userID) : undefined;
            if (callID === undefined || !own.has(callID)) tell(conn);
          } else if ((await this.#o.calls.callOf(session.userID)) !== undefined) {
            inCalls++;
          }
        }
        left = { connections, calls: own.size + inCalls };
      } catch (err) {
        // The shared state is away: look again, until the deadline.
        this.#log.debug('draining: looking at what is left failed', { err });
      }
      if (left.connections === 0 && left.calls === 0) break;
      const wait = Math.min(DRAIN_POLL_MS, deadline - Date.now());
      if (wait <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        o.cut,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, wait);
        }),
      ]);
      clearTimeout(timer);
    }
    return { ...left, told, timedOut: left.connections > 0 || left.calls > 0 };
  }

  /**
   * Closes every connection; idempotent. Sessions that outlive this node are kept: with the state
   * in a file for the restart (`keepSessionsOnClose`), with shared sessions handed over to the
   * other nodes (`NodeRegistry.handOver`). Otherwise (memory) every session ends, and with it its
   * calls for the others.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#sweep);
      this.#unsubscribe();
      for (const stop of this.#sharedStops.splice(0)) stop();
      for (const timer of this.#renewals.values()) clearTimeout(timer);
      this.#renewals.clear();
      const shared = this.#o.shared;
      if (this.#o.keepSessionsOnClose && shared) {
        this.#log.info('sessions kept for their clients to resume after the restart', {
          sessions: this.#sessions.size,
        });
        for (const session of this.#sessions.values()) session.close();
        this.#sessions.clear();
      } else if (shared?.nodes.handOver) {
        // As a kill -9 would, but at once: the other nodes take the sessions' clients (and, at
        // their next beat, the SFU rooms this node drove); ringing and calls go on there.
        const kept = this.#sessions.size;
        for (const session of this.#sessions.values()) session.close();
        this.#sessions.clear();
        await this.#beating;
        await shared.nodes
          .handOver(this.#o.nodeID, this.#o.resumeWindow * 1000)
          .then(() => this.#log.info('sessions handed over to the other nodes', { sessions: kept }))
          .catch((err: unknown) =>
            // They are handed over all the same once the other nodes find this one dead.
            this.#log.warn('handing over the sessions failed', { err }),
          );
      } else {
        for (const session of [...this.#sessions.values()]) {
          await this.#endSession(session).catch((err: unknown) =>
            this.#log.error('ending session at shutdown failed', { err }),
          );
        }
        await this.#o.shared?.nodes
          .leave(this.#o.nodeID)
          .catch((err: unknown) => this.#log.warn('leaving the cluster failed', { err }));
      }
      for (const conn of this.#connections) {
        clearTimeout(conn.loginTimer);
        conn.ws.close(CloseCode.SHUTDOWN, 'server shutting down');
      }
      // wss.close() waits for every client to answer the close frame; one whose address vanished
      // (or that stopped reading) never does, and ws would wait 30 s for each: cut them off.
      const closed = new Promise<void>((resolve) => this.#wss.close(() => resolve()));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_CLOSE_GRACE_MS);
      });
      await Promise.race([closed, graceOver]);
      clearTimeout(timer);
      for (const conn of this.#connections) conn.ws.terminate();
      await closed;
      this.#connections.clear();
    })();
    return this.#closing;
  }

  // ---- connections ---------------------------------------------------------------------------

  #onConnection(ws: WebSocket, socket: Duplex, address: string, state: AddressState): void {
    const conn = new Connection(ws, socket, address, state, this.#writeLimits);
    this.#connections.add(conn);
    this.#startLoginClock(conn);
    ws.on('message', (data, isBinary) => this.#onFrame(conn, data, isBinary));
    ws.on('close', () => this.#guard(conn, () => this.#onClose(conn)));
    // ws reports protocol violations (e.g. a frame over HARD_MAX_PAYLOAD) here, then closes.
    ws.on('error', (err) => this.#log.debug('websocket error', { err }));
  }

  /**
   * Runs `fn`; a failure is logged and closes only `conn` (1011), never reaches the process.
   * Every path from the network into the server goes through here or through #onFrame's own.
   */
  #guard(conn: Connection | undefined, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#internalFailure(conn, err);
    }
  }

  #internalFailure(conn: Connection | undefined, err: unknown): void {
    this.#log.error('handling a connection failed; closing it', { err });
    if (!conn) return;
    this.#stats.internalErrors++;
    try {
      this.#closeConnection(conn, CloseCode.INTERNAL_ERROR, 'internal error');
    } catch {
      conn.ws.terminate();
    }
  }

  /**
   * Sends a close frame, and cuts the connection off if the client has not closed it soon after.
   * `stopReading` for an abusive client: what it still sends stays in the kernel, unread.
   */
  #closeConnection(conn: Connection, code: number, reason: string, stopReading = false): void {
    if (conn.closing) return;
    conn.closing = true;
    clearTimeout(conn.loginTimer);
    if (stopReading) conn.ws.pause();
    conn.ws.close(code, reason);
    // A client that does not read never sees the close frame; ws would wait 30 s for it.
    setTimeout(() => conn.ws.terminate(), SLOW_CONSUMER_GRACE_MS).unref();
  }

  /** A connection must log in within `loginTimeout` (from connecting, or from logging out). */
  #startLoginClock(conn: Connection): void {
    clearTimeout(conn.loginTimer);
    conn.loginTimer = setTimeout(() => {
      if (conn.session || conn.closing) return;
      this.#stats.loginTimeouts++;
      this.#log.debug('closing a connection that did not log in', { address: conn.address });
      this.#closeConnection(
        conn,
        CloseCode.LOGIN_TIMEOUT,
        `no login within ${this.#o.limits.loginTimeout} s`,
      );
    }, this.#o.limits.loginTimeout * 1000);
    conn.loginTimer.unref();
  }

  #onSlow(conn: Connection): void {
    if (conn.closing) return;
    this.#stats.slowConsumers++;
    this.#log.info('closing a connection that does not read what it is sent', {
      address: conn.address,
      sessionID: conn.session?.sessionID,
      bufferedBytes: conn.ws.bufferedAmount,
    });
    this.#closeConnection(conn, CloseCode.SLOW_CONSUMER, 'slow consumer', true);
  }

  #onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    try {
      conn.lastSeen = Date.now();
      if (conn.closing) return;
      // The rate limit comes first, before any work on the frame, whatever its size or kind.
      const bucket = conn.session?.bucket ?? conn.addressState.bucket;
      if (!bucket.take()) {
        this.#rateLimited(conn, data, isBinary);
        return;
      }
      conn.dropped = 0;
      const buf = toBuffer(data);
      if (buf.length > MAX_FRAME_BYTES) {
        conn.send({
          type: 'error',
          error: ServerError.frameTooLarge(buf.length, MAX_FRAME_BYTES).toWire(),
        });
        return;
      }
      if (isBinary) {
        conn.send({
          type: 'error',
          error: ServerError.malformed('binary frames are not accepted; send JSON text').toWire(),
        });
        return;
      }
      const parsed = parseRequest(buf.toString('utf8'), this.#o.limits.maxDepth, buf);
      if (!parsed.ok) {
        this.#fail(conn, parsed.id, parsed.error);
        return;
      }
      const request = parsed.request;
      conn.queue = conn.queue
        .then(() => this.#handle(conn, request))
        .catch((err: unknown) => this.#internalFailure(conn, err));
    } catch (err) {
      this.#internalFailure(conn, err);
    }
  }

  /**
   * A frame over the rate limit: the first of a run is answered RATE_LIMITED (as its request's
   * reply when an id can be read), the rest are dropped unanswered, so that a flood cannot make
   * the server write as much as it reads; a run that goes on too long closes the connection.
   */
  #rateLimited(conn: Connection, data: RawData, isBinary: boolean): void {
    conn.dropped++;
    if (conn.dropped === 1) {
      const buf = toBuffer(data);
      let id: number | undefined;
      if (!isBinary && buf.length <= MAX_FRAME_BYTES) {
        const parsed = parseRequest(buf.toString('utf8'), this.#o.limits.maxDepth, buf);
        id = parsed.ok ? parsed.request.id : parsed.id;
      }
      this.#fail(conn, id, ServerError.rateLimited());
      return;
    }
    this.#stats.droppedFrames++;
    if (conn.dropped > this.#o.limits.rateLimitCloseAfter) {
      this.#log.info('closing a connection that keeps sending over its rate limit', {
        address: conn.address,
        sessionID: conn.session?.sessionID,
      });
      this.#closeConnection(conn, CloseCode.RATE_LIMITED, 'rate limit exceeded', true);
    }
  }

  /**
   * Answers a request (or a frame with at least a readable id) with an error: as its reply, or as
   * an `error` frame when there is no id to reply to.
   */
  #fail(conn: Connection, to: ClientRequest | number | undefined, error: unknown): void {
    const wire = ServerError.wire(error);
    const id = typeof to === 'object' ? to.id : to;
    if (id !== undefined) conn.send({ type: 'reply', id, ok: false, error: wire });
    else if (typeof to === 'object') conn.send({ type: 'error', error: wire, request: to.type });
    else conn.send({ type: 'error', error: wire });
  }

  async #handle(conn: Connection, request: ClientRequest): Promise<void> {
    if (conn.closing || conn.ws.readyState !== WebSocket.OPEN) return;
    if (conn.session) conn.hold(conn.session);
    try {
      const result = await this.#dispatch(conn, request);
      this.#o.onRequest?.(request.type, 'ok');
      // A notification (no id) gets no reply when it succeeds.
      if (request.id !== undefined) {
        conn.send({ type: 'reply', id: request.id, ok: true, result } as ServerMessage);
      }
    } catch (err) {
      if (!(err instanceof ServerError)) {
        this.#log.error('request failed', { type: request.type, err });
      }
      this.#o.onRequest?.(request.type, ServerError.wire(err).name);
      this.#fail(conn, request, err);
    } finally {
      conn.releaseAll();
    }
  }

  #onClose(conn: Connection): void {
    this.#connections.delete(conn);
    clearTimeout(conn.loginTimer);
    conn.releaseAll();
    this.#detachIfLost(conn);
  }

  /** If `conn` is closed and carries a live session, the session starts waiting to resume. */
  #detachIfLost(conn: Connection): void {
    const session = conn.session;
    if (!session || conn.ws.readyState !== WebSocket.CLOSED) return;
    conn.session = undefined;
    if (session.sink !== conn || session.state !== 'active' || this.#closing) return;
    // A single node draining for a restart: the resume window starts in the next process (which
    // claims this one dead), not now, or a slow restart would end the sessions it is kept for.
    if (this.#draining && this.#o.keepSessionsOnClose) return;
    this.#log.debug('connection lost; session waits to resume', { sessionID: session.sessionID });
    const shared = this.#o.shared;
    if (shared) {
      // A cluster timer: it fires even if this node dies meanwhile, and a resume on any node
      // cancels it.
      session.detach();
      shared.timers
        .schedule(
          sessionTimerKey(session.sessionID, this.#key(session.userID, session.sessionID)),
          this.#o.resumeWindow * 1000,
        )
        .catch((err: unknown) =>
          // Unreachable Redis: the session stays until its client returns or this node dies.
          this.#log.warn('arming a session expiry failed', { sessionID: session.sessionID, err }),
        );
      return;
    }
    session.detach(this.#o.resumeWindow * 1000, () => {
      // Only if nobody resumed it while this callback waited for the user's lock.
      this.#endSession(session, { onlyIfDetached: true }).catch((err: unknown) =>
        this.#log.error('ending an expired session failed', { err }),
      );
    });
  }

  /** Connections silent for three ping intervals are dead; their sessions wait to resume. */
  #dropSilent(): void {
    // An address with no connection left is forgotten once its bucket is full again (sooner
    // would hand a fresh burst to whoever reconnects).
    for (const [address, state] of this.#addresses) {
      if (state.connections === 0 && state.bucket.full) this.#addresses.delete(address);
    }
    const deadline = Date.now() - 3 * this.#o.pingInterval * 1000;
    for (const conn of this.#connections) {
      if (conn.lastSeen < deadline) {
        this.#log.debug('dropping a silent connection', { sessionID: conn.session?.sessionID });
        conn.ws.terminate();
      }
    }
  }

  // ---- sessions ------------------------------------------------------------------------------

  #onBus(message: BusMessage): void {
    this.#guard(undefined, () => this.#deliver(message));
  }

  #deliver(message: BusMessage): void {
    // SFU requests travel on the node's SFU channel (media/), never on this one.
    if (message.kind === 'sfuRequest' || message.kind === 'sfuReply') return;
    const session = this.#sessions.get(message.sessionID);
    // Shared delivery names a device by its key (ring-all), other messages by its user.
    if (
      !session ||
      (session.userID !== message.userID &&
        this.#key(session.userID, session.sessionID) !== message.userID)
    ) {
      return;
    }
    switch (message.kind) {
      case 'push':
        return session.push(message.push);
      case 'pushed':
        return session.pushAt(message.seq, message.json);
      case 'kick':
        return this.#kick(session, message.reason);
      case 'moved':
        return this.#forget(session);
      case 'expire':
        this.#endSession(session, { onlyIfDetached: true }).catch((err: unknown) =>
          this.#log.error('ending an expired session failed', { err }),
        );
        return;
    }
  }

  /** Tells the session's client it was kicked, closes its connection, forgets it locally. */
  #kick(session: Session, reason: KickReason): void {
    session.push({ type: 'kicked', reason });
    session.flushNow();
    const sink = session.sink;
    session.close();
    this.#stopRenewal(session);
    this.#sessions.delete(session.sessionID);
    if (sink instanceof Connection) {
      sink.session = undefined;
      this.#closeConnection(sink, CloseCode.KICKED, reason);
    }
  }

  /**
   * The session resumed on another node: forget it here without ending it (its connection, if the
   * client left one open, is closed as replaced).
   */
  #forget(session: Session): void {
    const sink = session.sink;
    session.close();
    this.#stopRenewal(session);
    this.#sessions.delete(session.sessionID);
    if (sink instanceof Connection) {
      sink.session = undefined;
      this.#closeConnection(sink, CloseCode.REPLACED, 'session resumed on another node');
    }
    this.#log.debug('session moved to another node', { sessionID: session.sessionID });
  }

  /** Ends a session for good: its calls and invitations are cleaned up if it is still the user's. */
  async #endSession(session: Session, opts: { onlyIfDetached?: boolean } = {}): Promise<void> {
    await this.#o.locks.run(`user:${session.userID}`, async () => {
      if (session.state === 'closed') return;
      if (opts.onlyIfDetached && session.state !== 'detached') return;
      session.close();
      this.#stopRenewal(session);
      this.#sessions.delete(session.sessionID);
      const key = this.#key(session.userID, session.sessionID);
      if (await this.#o.presence.remove(key, session.sessionID)) {
        await this.#sessionGone(session.userID, session.sessionID);
      }
      const shared = this.#o.shared;
      if (shared) {
        await shared.sessions.end(session.sessionID, this.#o.nodeID);
        await shared.timers.cancel(sessionTimerKey(session.sessionID, key));
      }
      this.#log.debug('session ended', { sessionID: session.sessionID, userID: session.userID });
    });
  }

  /**
   * Pushes `iceServers` with fresh TURN credentials before the session's expire, and again after
   * each push. A detached session's push waits in its outbox for the resume (which mints anew).
   */
  #scheduleRenewal(session: Session): void {
    this.#stopRenewal(session);
    const after = this.#o.ice.renewAfterMs;
    if (after === undefined || this.#closing) return;
    const timer = setTimeout(() => {
      this.#renewals.delete(session);
      if (session.state === 'closed') return;
      this.#guard(undefined, () => {
        const push = { type: 'iceServers' as const, ...this.#o.ice.configFor(session.userID) };
        const shared = this.#o.shared;
        if (shared) {
          // Through the shared outbox like every push, so that its seq is the outbox's.
          shared.sessions
            .deliver(
              this.#key(session.userID, session.sessionID),
              JSON.stringify(push),
              session.sessionID,
            )
            .catch((err: unknown) => this.#log.warn('credential renewal push failed', { err }));
        } else {
          session.push(push);
        }
        this.#scheduleRenewal(session);
      });
    }, after);
    timer.unref();
    this.#renewals.set(session, timer);
  }

  #stopRenewal(session: Session): void {
    clearTimeout(this.#renewals.get(session));
    this.#renewals.delete(session);
  }

  // ---- requests ------------------------------------------------------------------------------

  async #dispatch(
    conn: Connection,
    request: ClientRequest,
  ): Promise<RequestResults[ClientRequest['type']]> {
    if (request.type === 'login') return this.#login(conn, request);
    const session = conn.session;
    if (!session) throw ServerError.notLoggedIn(request.type);
    const me = session.userID;
    // Which of the user's devices asks (ring-all); the call service ignores it with `kick`.
    const device = this.#o.multiDevice ? session.sessionID : undefined;
    const calls = this.#o.calls;
    switch (request.type) {
      case 'logout':
        conn.session = undefined;
        this.#startLoginClock(conn);
        await this.#endSession(session);
        return {};
      case 'ping':
        if (request.ack !== undefined) {
          session.ack(request.ack);
          // Only when there is something new to trim (idle sessions ping with the same ack), and
          // not awaited: trimming the shared copy can lag, the reply need not wait for it.
          if (this.#o.shared && request.ack > session.sharedAck) {
            session.sharedAck = request.ack;
            this.#o.shared.sessions
              .ack(session.sessionID, request.ack)
              .catch((err: unknown) => this.#log.debug('outbox ack failed', { err }));
          }
        }
        return { time: Date.now() };
      case 'invite':
        return calls.invite(me, request, device);
      case 'accept':
        return calls.accept(me, request.inviteID, device);
      case 'reject':
        return calls.reject(me, request.inviteID, request.busy ?? false, device);
      case 'preconnect':
        return calls.preconnect(me, request.inviteID);
      case 'cancel':
        return calls.cancel(me, request.inviteID);
      case 'hangup':
        return calls.hangup(me, request.callID);
      case 'signal':
        return calls.signal(me, request.callID, request.to, request.data);
      case 'media':
        return calls.media(me, request.callID, request.audio, request.video);
      case 'switchCallType':
        return calls.switchCallType(me, request.callID, request.callType);
      case 'join':
        return calls.join(me, request.groupID, request.callType, device);
      case 'sfuPublish':
        return calls.sfuPublish(me, request.callID, request.description);
      case 'sfuAnswer':
        return calls.sfuAnswer(me, request.callID, request.description);
      case 'sfuTrickle':
        return calls.sfuTrickle(me, request.callID, request.target, request.candidate);
      case 'sfuLayer':
        return calls.sfuLayer(me, request.callID, request.userID, request.substream);
      case 'sfuRestart':
        return calls.sfuRestart(me, request.callID);
    }
  }

  /**
   * Resumes a session this node does not hold (its node died, or the balancer sent the client
   * elsewhere) from its shared outbox; undefined when it cannot be resumed. Runs under the user's
   * lock. The session is registered before presence names this node, so that pushes published
   * here from then on are kept, and merged with what the outbox held.
   */
  async #takeOver(
    conn: Connection,
    userID: string,
    resume: { sessionID: string; lastSeq: number },
    shared: NonNullable<GatewayOptions['shared']>,
  ): Promise<Session | undefined> {
    const session = new Session(userID, conn, {
      outboxLimit: this.#o.outboxLimit,
      outboxBytes: this.#o.limits.outboxBytes,
      rateLimit: this.#o.rateLimit,
      logger: this.#log,
      sessionID: resume.sessionID,
    });
    // Nothing is written before the login reply, which must go first.
    session.hold();
    this.#sessions.set(session.sessionID, session);
    const drop = (): void => {
      session.close();
      this.#sessions.delete(session.sessionID);
    };
    let taken: Awaited<ReturnType<SharedSessions['takeOver']>>;
    try {
      taken = await shared.sessions.takeOver(
        this.#key(userID, resume.sessionID),
        resume.sessionID,
        this.#o.nodeID,
        resume.lastSeq,
      );
    } catch (err) {
      drop();
      throw err;
    }
    if (!taken) {
      drop();
      return undefined;
    }
    session.restore(taken.entries, taken.head);
    await shared.timers.cancel(
      sessionTimerKey(session.sessionID, this.#key(userID, session.sessionID)),
    );
    if (taken.previousNode !== this.#o.nodeID) {
      // If that node still lives and holds the session, it forgets it (a dead one misses this).
      await this.#o.bus.send(taken.previousNode, {
        kind: 'moved',
        userID,
        sessionID: session.sessionID,
      });
    }
    clearTimeout(conn.loginTimer);
    conn.session = session;
    conn.hold(session);
    session.release();
    session.attach(conn, resume.lastSeq);
    this.#detachIfLost(conn);
    this.#log.info('session taken over from another node', {
      sessionID: session.sessionID,
      from: taken.previousNode,
      lastSeq: resume.lastSeq,
      replayed: taken.entries.length,
    });
    return session;
  }

  /**
   * Shared mode's background work: this node's heartbeat (which also claims dead nodes and arms
   * their sessions' expiry), the expiry of sessions wherever they were, and keeping live
   * sessions' shared outboxes from expiring.
   */
  #startShared(shared: NonNullable<GatewayOptions['shared']>): void {
    const beat = (): void => {
      if (this.#beating) return;
      this.#beating = shared.nodes
        .beat(this.#o.nodeID, this.#o.resumeWindow * 1000)
        .then(async ({ dead, rejoined }) => {
          if (dead.length)
            this.#log.warn('nodes found dead; their sessions wait to resume', { dead });
          // The SFU rooms they drove move here (their calls' members keep their media meanwhile).
          for (const node of dead) {
            this.#o.calls
              .nodeDied(node)
              .catch((err: unknown) =>
                this.#log.error('taking over a dead node’s SFU rooms failed', { node, err }),
              );
          }
          if (rejoined && this.#sessions.size) {
            // Claimed dead while alive (a long pause), or Redis came back empty: list its
            // sessions again, so that they are handed over should it really die, and reachable.
            this.#log.warn('this node was not listed as alive; listing its sessions again');
            const held = [...this.#sessions.values()].map((s) => ({
              sessionID: s.sessionID,
              userID: this.#key(s.userID, s.sessionID),
              seq: s.seq,
            }));
            await shared.sessions.relist(this.#o.nodeID, held);
            // With ring-all, each device back in its user's device index (add keeps one listed).
            const md = this.#o.multiDevice;
            if (md) {
              for (const s of this.#sessions.values()) {
                await md.devices.add(s.userID, s.sessionID, md.max);
              }
            }
          }
        })
        .catch((err: unknown) => this.#log.debug('heartbeat failed', { err }))
        .finally(() => {
          this.#beating = undefined;
        });
    };
    beat();
    const heartbeat = setInterval(beat, shared.nodes.heartbeatMs);
    heartbeat.unref();
    const sweep = setInterval(() => {
      shared.sessions
        .keepAlive([...this.#sessions.keys()])
        .catch((err: unknown) => this.#log.warn('outbox keep-alive failed', { err }));
    }, 60 * 60_000);
    sweep.unref();
    const unsubscribe = shared.timers.subscribe((key) => this.#onSessionTimer(key, shared));
    this.#sharedStops.push(
      () => clearInterval(heartbeat),
      () => clearInterval(sweep),
      unsubscribe,
    );
  }

  /**
   * A session's resume window is over (its timer fired here, whichever node armed it). The node
   * presence names decides if that node lives (it knows whether its client came back); if it is
   * dead, the session ends here. A resume on any node cancels the timer and, under the same user
   * lock, moves presence to a live node, so a firing that raced it changes nothing.
   */
  async #onSessionTimer(key: string, shared: NonNullable<GatewayOptions['shared']>): Promise<void> {
    const ids = parseSessionTimerKey(key);
    if (!ids) return;
    // `userID` here is the presence key: the user's, or with ring-all the device's.
    const { userID, sessionID } = ids;
    const user = parseDeviceKey(userID)?.userID ?? userID;
    const where = await this.#o.presence.get(userID);
    if (!where || where.sessionID !== sessionID) {
      // Ended or replaced meanwhile; its outbox may be left from a dead node.
      await shared.sessions.end(sessionID, where?.nodeID ?? this.#o.nodeID);
      return;
    }
    if (where.nodeID === this.#o.nodeID) {
      const local = this.#sessions.get(sessionID);
      if (local) return this.#endSession(local, { onlyIfDetached: true });
    } else if (await shared.nodes.alive(where.nodeID)) {
      await this.#o.bus.send(where.nodeID, { kind: 'expire', userID: user, sessionID });
      return;
    }
    // Its node is dead (or lost it): end it from the shared state, once, under the user's lock.
    await this.#o.locks.run(`user:${user}`, async () => {
      const now = await this.#o.presence.get(userID);
      if (!now || now.sessionID !== sessionID || now.nodeID !== where.nodeID) return;
      if (await this.#o.presence.remove(userID, sessionID))
        await this.#sessionGone(user, sessionID);
      await shared.sessions.end(sessionID, where.nodeID);
      this.#log.info('session of a dead node expired', { sessionID, userID, node: where.nodeID });
    });
  }

  async #login(conn: Connection, req: RequestOf<'login'>): Promise<RequestResults['login']> {
    if (conn.session) throw ServerError.alreadyLoggedIn();
    if (this.#draining) throw ServerError.draining();
    if (req.protocol !== undefined && req.protocol !== PROTOCOL_VERSION) {
      throw ServerError.notSupported(
        `protocol version ${req.protocol} is not supported (this server speaks ${PROTOCOL_VERSION})`,
      );
    }
    const { sdkAppID, secretKey } = this.#o;
    if (req.sdkAppID !== sdkAppID) throw ServerError.unknownApp(req.sdkAppID);
    // The admin API's account is not a calling user (its userSig must not ring anyone).
    if (req.userID === ADMIN_IDENTIFIER) throw ServerError.reservedUserID(req.userID);
    verifyUserSig(req.userSig, { sdkAppID, secretKey, userID: req.userID });
    const userID = req.userID;

    return this.#o.locks.run(`user:${userID}`, async () => {
      if (conn.ws.readyState !== WebSocket.OPEN)
        throw ServerError.internal('connection closed during login');
      const reply = (session: Session, resumed: boolean): RequestResults['login'] => {
        // Fresh credentials at every login and resume; the renewal clock starts from them.
        this.#scheduleRenewal(session);
        return {
          sessionID: session.sessionID,
          resumed,
          userID,
          ...this.#o.ice.configFor(userID),
          inviteTimeout: this.#o.inviteTimeout,
          resumeWindow: this.#o.resumeWindow,
          pingInterval: this.#o.pingInterval,
        };
      };

      if (req.resume) {
        const old = this.#sessions.get(req.resume.sessionID);
        if (old && old.userID === userID && old.canResume(req.resume.lastSeq)) {
          const previous = old.sink;
          if (previous instanceof Connection && previous !== conn) {
            // The client came back before we noticed its old connection die.
            previous.session = undefined;
            this.#closeConnection(
              previous,
              CloseCode.REPLACED,
              'session resumed on another connection',
            );
          }
          clearTimeout(conn.loginTimer);
          conn.session = old;
          conn.hold(old);
          old.attach(conn, req.resume.lastSeq);
          await this.#o.shared?.timers.cancel(
            sessionTimerKey(old.sessionID, this.#key(userID, old.sessionID)),
          );
          // The connection may have died while this login waited for the lock.
          this.#detachIfLost(conn);
          this.#log.info('login: session resumed', {
            userID,
            sessionID: old.sessionID,
            lastSeq: req.resume.lastSeq,
            address: conn.address,
          });
          return reply(old, true);
        }
        if (this.#o.shared && !old) {
          const resumed = await this.#takeOver(conn, userID, req.resume, this.#o.shared);
          if (resumed) return reply(resumed, true);
        }
      }

      // A fresh session: whatever session the user had ends, here or on another node (kick), or
      // it is one more device (ring-all).
      const md = this.#o.multiDevice;
      const existing = md ? undefined : await this.#o.presence.get(userID);
      if (existing) {
        await this.#o.bus.send(existing.nodeID, {
          kind: 'kick',
          userID,
          sessionID: existing.sessionID,
          reason: KickReason.DUPLICATE_LOGIN,
        });
        this.#o.onKicked?.(userID, KickReason.DUPLICATE_LOGIN);
        if (await this.#o.presence.remove(userID, existing.sessionID)) {
          await this.#o.calls.leaveAll(userID);
        }
        await this.#o.shared?.sessions.end(existing.sessionID, existing.nodeID);
      }
      const session = new Session(userID, conn, {
        outboxLimit: this.#o.outboxLimit,
        outboxBytes: this.#o.limits.outboxBytes,
        rateLimit: this.#o.rateLimit,
        logger: this.#log,
      });
      if (md && !(await md.devices.add(userID, session.sessionID, md.max))) {
        session.close();
        throw ServerError.tooManyDevices(md.max);
      }
      this.#sessions.set(session.sessionID, session);
      clearTimeout(conn.loginTimer);
      conn.session = session;
      conn.hold(session);
      this.#detachIfLost(conn);
      const presence = {
        userID: this.#key(userID, session.sessionID),
        sessionID: session.sessionID,
        nodeID: this.#o.nodeID,
      };
      if (this.#o.shared) await this.#o.shared.sessions.open(presence);
      else await this.#o.presence.set(presence);
      // Invitations that rang while the user was offline (or before this device logged in):
      // pushed right after this reply, to this session alone.
      await this.#o.calls.redeliverInvitations(userID, md ? presence.userID : undefined);
      this.#log.info('login', { userID, sessionID: session.sessionID, address: conn.address });
      return reply(session, false);
    });
  }
}

/** The frame's bytes, without a copy when ws already has them in one Buffer. */
function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** Answers an upgrade with an HTTP error and closes the socket, even if the peer never reads. */
function refuse(socket: Duplex, status: string, retryAfterS?: number): void {
  const retry = retryAfterS === undefined ? '' : `Retry-After: ${retryAfterS}\r\n`;
  socket.end(`HTTP/1.1 ${status}\r\n${retry}Connection: close\r\nContent-Length: 0\r\n\r\n`, () =>
    socket.destroy(),
  );
  setTimeout(() => socket.destroy(), SLOW_CONSUMER_GRACE_MS).unref();
}
