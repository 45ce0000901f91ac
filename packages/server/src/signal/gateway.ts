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
  type IceServer,
  type PushMessage,
  type RequestResults,
  type ServerMessage,
} from '@ringline/protocol';
import { verifyUserSig } from '../auth/usersig.js';
import type { CallService } from '../calls/service.js';
import type {
  BusMessage,
  LockManager,
  MessageBus,
  PresenceStore,
  Unsubscribe,
} from '../cluster/types.js';
import { ServerError } from '../errors.js';
import { ADMIN_IDENTIFIER } from '../http/admin.js';
import { silentLogger, type Logger } from '../log.js';
import { TokenBucket, type RateLimitOptions } from './rate-limit.js';
import { parseRequest, type RequestOf } from './validate.js';
import { Session } from './session.js';

/** The largest frame ws will take at all; frames between MAX_FRAME_BYTES and this get an error. */
export const HARD_MAX_PAYLOAD = 1024 * 1024;

/** WebSocket close codes the server uses. */
export const CloseCode = {
  SHUTDOWN: 1001,
  KICKED: 4001,
  REPLACED: 4002,
  LOGGED_OUT: 4003,
} as const;

export interface GatewayOptions {
  nodeID: string;
  sdkAppID: number;
  secretKey: string;
  iceServers: IceServer[];
  /** Seconds, reported to clients in the login reply. */
  inviteTimeout: number;
  /** Seconds a session waits for its client to come back. */
  resumeWindow: number;
  /** Seconds between client pings; a connection silent for 3 of them is dropped. */
  pingInterval: number;
  rateLimit: RateLimitOptions;
  outboxLimit: number;
  calls: CallService;
  presence: PresenceStore;
  bus: MessageBus;
  locks: LockManager;
  logger?: Logger;
}

/** One WebSocket; logged in when it carries a session. */
class Connection {
  session: Session | undefined;
  lastSeen = Date.now();
  readonly bucket: TokenBucket;
  /** Requests run one at a time, in order. */
  queue: Promise<void> = Promise.resolve();
  /** Sessions holding their pushes until the current reply is out. */
  readonly held = new Set<Session>();
  #corked = false;

  constructor(
    readonly ws: WebSocket,
    /** The connection's TCP socket, which ws writes to. */
    private readonly socket: Duplex,
    rateLimit: RateLimitOptions,
  ) {
    this.bucket = new TokenBucket(rateLimit);
  }

  /**
   * Frames written in one tick (a reply and the pushes it releases, a call's userLeave and
   * callEnded) leave in one write: the socket stays corked until the tick's work is done.
   */
  send(message: ServerMessage): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.socket.uncork();
      });
    }
    this.ws.send(JSON.stringify(message));
  }
  sendPush(message: PushMessage): void {
    this.send(message);
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
  /** This node's sessions by id (their connections and outboxes cannot be shared). */
  readonly #sessions = new Map<string, Session>();
  readonly #sweep: NodeJS.Timeout;
  readonly #unsubscribe: Unsubscribe;
  #closing: Promise<void> | undefined;

  constructor(options: GatewayOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: HARD_MAX_PAYLOAD });
    this.#sweep = setInterval(() => this.#dropSilent(), (options.pingInterval * 1000) / 2);
    this.#sweep.unref();
    this.#unsubscribe = options.bus.subscribe(options.nodeID, (m) => this.#onBus(m));
  }

  /** Takes WebSocket upgrades on SIGNAL_PATH from `server`; other paths get 404. */
  attach(server: HttpServer): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== SIGNAL_PATH || this.#closing) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, socket));
    });
  }

  /** Sessions on this node (for tests and metrics). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Ends every session (their calls end for the others), closes every connection; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#sweep);
      this.#unsubscribe();
      for (const session of [...this.#sessions.values()]) {
        await this.#endSession(session).catch((err: unknown) =>
          this.#log.error('ending session at shutdown failed', { err }),
        );
      }
      for (const conn of this.#connections)
        conn.ws.close(CloseCode.SHUTDOWN, 'server shutting down');
      await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
      for (const conn of this.#connections) conn.ws.terminate();
      this.#connections.clear();
    })();
    return this.#closing;
  }

  // ---- connections ---------------------------------------------------------------------------

  #onConnection(ws: WebSocket, socket: Duplex): void {
    const conn = new Connection(ws, socket, this.#o.rateLimit);
    this.#connections.add(conn);
    ws.on('message', (data, isBinary) => this.#onFrame(conn, data, isBinary));
    ws.on('close', () => this.#onClose(conn));
    // ws reports protocol violations (e.g. a frame over HARD_MAX_PAYLOAD) here, then closes.
    ws.on('error', (err) => this.#log.debug('websocket error', { err }));
  }

  #onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    conn.lastSeen = Date.now();
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
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
    const parsed = parseRequest(buf.toString('utf8'));
    const bucket = conn.session?.bucket ?? conn.bucket;
    if (!bucket.take()) {
      this.#fail(conn, parsed.ok ? parsed.request : parsed.id, ServerError.rateLimited());
      return;
    }
    if (!parsed.ok) {
      this.#fail(conn, parsed.id, parsed.error);
      return;
    }
    const request = parsed.request;
    conn.queue = conn.queue
      .then(() => this.#handle(conn, request))
      .catch((err: unknown) => this.#log.error('request handling failed', { err }));
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
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    if (conn.session) conn.hold(conn.session);
    try {
      const result = await this.#dispatch(conn, request);
      // A notification (no id) gets no reply when it succeeds.
      if (request.id !== undefined) {
        conn.send({ type: 'reply', id: request.id, ok: true, result } as ServerMessage);
      }
    } catch (err) {
      if (!(err instanceof ServerError)) {
        this.#log.error('request failed', { type: request.type, err });
      }
      this.#fail(conn, request, err);
    } finally {
      conn.releaseAll();
    }
  }

  #onClose(conn: Connection): void {
    this.#connections.delete(conn);
    conn.releaseAll();
    this.#detachIfLost(conn);
  }

  /** If `conn` is closed and carries a live session, the session starts waiting to resume. */
  #detachIfLost(conn: Connection): void {
    const session = conn.session;
    if (!session || conn.ws.readyState !== WebSocket.CLOSED) return;
    conn.session = undefined;
    if (session.sink !== conn || session.state !== 'active' || this.#closing) return;
    this.#log.debug('connection lost; session waits to resume', { sessionID: session.sessionID });
    session.detach(this.#o.resumeWindow * 1000, () => {
      // Only if nobody resumed it while this callback waited for the user's lock.
      this.#endSession(session, { onlyIfDetached: true }).catch((err: unknown) =>
        this.#log.error('ending an expired session failed', { err }),
      );
    });
  }

  /** Connections silent for three ping intervals are dead; their sessions wait to resume. */
  #dropSilent(): void {
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
    const session = this.#sessions.get(message.sessionID);
    if (!session || session.userID !== message.userID) return;
    if (message.kind === 'push') session.push(message.push);
    else this.#kick(session, message.reason);
  }

  /** Tells the session's client it was kicked, closes its connection, forgets it locally. */
  #kick(session: Session, reason: KickReason): void {
    session.push({ type: 'kicked', reason });
    session.flushNow();
    const sink = session.sink;
    session.close();
    this.#sessions.delete(session.sessionID);
    if (sink instanceof Connection) {
      sink.session = undefined;
      sink.ws.close(CloseCode.KICKED, reason);
    }
  }

  /** Ends a session for good: its calls and invitations are cleaned up if it is still the user's. */
  async #endSession(session: Session, opts: { onlyIfDetached?: boolean } = {}): Promise<void> {
    await this.#o.locks.run(`user:${session.userID}`, async () => {
      if (session.state === 'closed') return;
      if (opts.onlyIfDetached && session.state !== 'detached') return;
      session.close();
      this.#sessions.delete(session.sessionID);
      if (await this.#o.presence.remove(session.userID, session.sessionID)) {
        await this.#o.calls.leaveAll(session.userID);
      }
      this.#log.debug('session ended', { sessionID: session.sessionID, userID: session.userID });
    });
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
    const calls = this.#o.calls;
    switch (request.type) {
      case 'logout':
        conn.session = undefined;
        await this.#endSession(session);
        return {};
      case 'ping':
        if (request.ack !== undefined) session.ack(request.ack);
        return { time: Date.now() };
      case 'invite':
        return calls.invite(me, request);
      case 'accept':
        return calls.accept(me, request.inviteID);
      case 'reject':
        return calls.reject(me, request.inviteID, request.busy ?? false);
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
        return calls.join(me, request.groupID, request.callType);
      case 'sfuPublish':
        return calls.sfuPublish(me, request.callID, request.description);
      case 'sfuAnswer':
        return calls.sfuAnswer(me, request.callID, request.description);
      case 'sfuTrickle':
        return calls.sfuTrickle(me, request.callID, request.target, request.candidate);
      case 'sfuLayer':
        return calls.sfuLayer(me, request.callID, request.userID, request.substream);
    }
  }

  async #login(conn: Connection, req: RequestOf<'login'>): Promise<RequestResults['login']> {
    if (conn.session) throw ServerError.alreadyLoggedIn();
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
      const reply = (session: Session, resumed: boolean): RequestResults['login'] => ({
        sessionID: session.sessionID,
        resumed,
        userID,
        iceServers: this.#o.iceServers,
        inviteTimeout: this.#o.inviteTimeout,
        resumeWindow: this.#o.resumeWindow,
        pingInterval: this.#o.pingInterval,
      });

      if (req.resume) {
        const old = this.#sessions.get(req.resume.sessionID);
        if (old && old.userID === userID && old.canResume(req.resume.lastSeq)) {
          const previous = old.sink;
          if (previous instanceof Connection && previous !== conn) {
            // The client came back before we noticed its old connection die.
            previous.session = undefined;
            previous.ws.close(CloseCode.REPLACED, 'session resumed on another connection');
          }
          conn.session = old;
          conn.hold(old);
          old.attach(conn, req.resume.lastSeq);
          // The connection may have died while this login waited for the lock.
          this.#detachIfLost(conn);
          this.#log.debug('session resumed', {
            sessionID: old.sessionID,
            lastSeq: req.resume.lastSeq,
          });
          return reply(old, true);
        }
      }

      // A fresh session: whatever session the user had ends, here or on another node.
      const existing = await this.#o.presence.get(userID);
      if (existing) {
        await this.#o.bus.send(existing.nodeID, {
          kind: 'kick',
          userID,
          sessionID: existing.sessionID,
          reason: KickReason.DUPLICATE_LOGIN,
        });
        if (await this.#o.presence.remove(userID, existing.sessionID)) {
          await this.#o.calls.leaveAll(userID);
        }
      }
      const session = new Session(userID, conn, {
        outboxLimit: this.#o.outboxLimit,
        rateLimit: this.#o.rateLimit,
        logger: this.#log,
      });
      this.#sessions.set(session.sessionID, session);
      conn.session = session;
      conn.hold(session);
      this.#detachIfLost(conn);
      await this.#o.presence.set({ userID, sessionID: session.sessionID, nodeID: this.#o.nodeID });
      // Invitations that rang while the user was offline: pushed right after this reply.
      await this.#o.calls.redeliverInvitations(userID);
      this.#log.debug('session started', { sessionID: session.sessionID, userID });
      return reply(session, false);
    });
  }
}
