/**
 * A real webhook receiver for tests: a node:http server on a fixed loopback port that can be
 * down (not listening: connections are refused), slow (answers only after `slowMs`), failing
 * (500), or up (200). It keeps every request it read, with its headers and raw body.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { freePort } from './postgres.js';

export type ReceiverMode = 'slow' | 'error' | 'ok';

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  /** How it was answered. */
  answered: ReceiverMode;
}

export interface TestReceiver {
  /** http://127.0.0.1:PORT/hooks */
  url: string;
  /** Every request read so far, in arrival order. */
  requests: ReceivedRequest[];
  /** Starts listening (if down) and answers as `mode` from now on. */
  set(mode: ReceiverMode): Promise<void>;
  /** Stops listening and drops open connections: the receiver is down. Idempotent. */
  down(): Promise<void>;
}

/** Body bytes read at most; a test receiver has no use for more. */
const MAX_BODY = 64 * 1024;

/** A receiver that starts down. `slowMs`: how late a slow answer comes. */
export async function startReceiver(options: { slowMs?: number } = {}): Promise<TestReceiver> {
  const port = await freePort();
  const slowMs = options.slowMs ?? 1000;
  let mode: ReceiverMode = 'ok';
  let server: Server | undefined;
  const requests: ReceivedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createServer((req, res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_BODY) chunks.push(c);
        });
        req.on('end', () => {
          const answered = mode;
          requests.push({
            headers: req.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            answered,
          });
          const answer = () => {
            res.statusCode = answered === 'error' ? 500 : 200;
            res.end(answered === 'error' ? 'receiver failing' : 'ok');
          };
          if (answered !== 'slow') return answer();
          const t = setTimeout(() => {
            timers.delete(t);
            answer();
          }, slowMs);
          timers.add(t);
        });
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        resolve();
      });
    });
  const down = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    requests,
    set: async (next) => {
      mode = next;
      if (!server) await listen();
    },
    down,
  };
}

/** Polls `check` every 20 ms until it is true; fails saying `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
