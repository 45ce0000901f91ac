// One WebSocket to the server under test, for the fuzzer's connections and its well-behaved
// control users alike: raw frames out, every message in parsed and counted, request/reply by id,
// waiting for a message instead of sleeping.
import { WebSocket } from 'ws';
import { SIGNAL_PATH } from '@ringline/protocol';

/** Request ids the harness itself uses (the generators stay far below them). */
let nextOwnID = Number.MAX_SAFE_INTEGER - 2 ** 32;

export class Wire {
  /**
   * @param {WebSocket} ws
   * @param {(msg: any) => void} onMessage every message, parsed
   */
  constructor(ws, onMessage) {
    this.ws = ws;
    /** @type {{match: (m: any) => boolean, resolve: (m: any) => void}[]} */
    this.waiters = [];
    /** Frames sent since the server last confirmed it got that far (the suspects of a crash). */
    /** @type {{kind: string, data: string | Buffer, binary: boolean}[]} */
    this.inflight = [];
    /** Ids of requests sent since the last sync that must be answered, with how many are owed. */
    /** @type {Map<number, number>} */
    this.owed = new Map();
    /** The frame last sent with each owed id (to show what went unanswered). */
    this.owedFrames = new Map();
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        for (const w of this.waiters.splice(0)) w.resolve(undefined);
        resolve({ code, reason: reason.toString() });
      }),
    );
    ws.on('message', (data) => {
      let msg;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        msg = { type: 'unparseable' };
      }
      if (msg.type === 'reply' && this.owed.has(msg.id)) {
        const n = this.owed.get(msg.id) - 1;
        if (n > 0) this.owed.set(msg.id, n);
        else this.owed.delete(msg.id);
      }
      onMessage(msg);
      const i = this.waiters.findIndex((w) => w.match(msg));
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(msg);
    });
    // Errors are followed by close, which is what callers look at.
    ws.on('error', () => {});
  }

  /** Opens a connection to `httpUrl` (http://host:port) at `path`; rejects after `timeoutMs`. */
  static open(httpUrl, onMessage = () => {}, { path = SIGNAL_PATH, timeoutMs = 10_000 } = {}) {
    const ws = new WebSocket(httpUrl.replace(/^http/, 'ws') + path, {
      handshakeTimeout: timeoutMs,
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Wire(ws, onMessage)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        reject(new Error(`upgrade answered ${res.statusCode}`));
        res.resume();
        ws.terminate();
      });
    });
  }

  get open() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a frame as is (text unless `binary`); false when the connection is not open. */
  send(data, binary = false) {
    if (!this.open) return false;
    this.ws.send(data, { binary });
    return true;
  }

  /** Resolves with the first message matching `match` from now, or undefined after `timeoutMs` or on close. */
  waitFor(match, timeoutMs) {
    if (!this.open) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = {
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Sends a request with an id of the harness's own; resolves with its reply, or undefined. */
  request(type, fields = {}, timeoutMs = 10_000) {
    const id = nextOwnID++;
    const reply = this.waitFor((m) => m.type === 'reply' && m.id === id, timeoutMs);
    this.send(JSON.stringify({ id, type, ...fields }));
    return reply;
  }

  /**
   * A round trip (a `ping`; NOT_LOGGED_IN before login is an answer too): when it comes back,
   * the server has taken every frame sent before it, which are then no longer crash suspects.
   */
  async sync(timeoutMs) {
    const reply = await this.request('ping', {}, timeoutMs);
    if (reply) this.inflight.length = 0;
    return reply;
  }

  /**
   * Notes that `data` must get a reply: a text frame within the frame limit whose JSON is an
   * object with a usable id (the server replies to those, in order, before the next sync's).
   */
  expectReply(data, binary) {
    if (binary || typeof data !== 'string' || data.length > 4096 || data[0] !== '{') return;
    let v;
    try {
      v = JSON.parse(data);
    } catch {
      return;
    }
    if (Number.isSafeInteger(v?.id) && v.id >= 0) {
      this.owed.set(v.id, (this.owed.get(v.id) ?? 0) + 1);
      this.owedFrames.set(v.id, data);
    }
  }

  /**
   * Requests owed a reply that the last sync's reply overtook, and one of their frames; forgets
   * them.
   */
  takeUnanswered() {
    let n = 0;
    let example;
    for (const [id, k] of this.owed) {
      n += k;
      example ??= this.owedFrames.get(id);
    }
    this.owed.clear();
    this.owedFrames.clear();
    return { n, example };
  }

  /** Closes without a handshake; `reset` sends a TCP RST instead of a FIN. */
  drop(reset = false) {
    this.dropped = true;
    const socket = this.ws._socket;
    if (reset && socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else this.ws.terminate();
  }
}
