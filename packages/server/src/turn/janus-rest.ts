/**
 * The TURN REST endpoint Janus asks for its own TURN credentials (janus.jcfg `turn_rest_api`):
 * Janus calls it for every new peer connection, so its credentials never go stale however long it
 * runs. It listens on loopback only, on a port of its own (not the public HTTP port, which may be
 * TLS that Janus's libcurl would not trust), and answers only requests with the key written into
 * Janus's config at start.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { mintTurnCredential } from './credentials.js';

export interface JanusTurnRest {
  /** The URL for `turn_rest_api`. */
  readonly url: string;
  /** The key for `turn_rest_api_key`. */
  readonly key: string;
  /** Credentials handed out so far (tests check that Janus asks). */
  readonly served: number;
  close(): Promise<void>;
}

/** The user TURN credentials for Janus are minted for (`expiry:janus`). */
export const JANUS_TURN_USER = 'janus';

export async function startJanusTurnRest(options: {
  secret: string;
  ttlS: number;
  turnUrls: string[];
  log: Logger;
}): Promise<JanusTurnRest> {
  const key = randomBytes(24).toString('hex');
  const keyBuf = Buffer.from(key);
  let served = 0;
  const server = createServer((req, res) => {
    collect(req, 4096).then(
      (body) => handle(req, res, body),
      () => answer(res, 400, { error: 'bad request' }),
    );
  });
  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Janus sends the parameters in the query string, and for POST in the body as well.
    const params = new URLSearchParams(req.method === 'POST' ? body : '');
    for (const [k, v] of url.searchParams) if (!params.has(k)) params.set(k, v);
    const given = Buffer.from(params.get('key') ?? params.get('api') ?? '');
    if (
      url.pathname !== '/turn' ||
      given.length !== keyBuf.length ||
      !timingSafeEqual(given, keyBuf)
    ) {
      return answer(res, 403, { error: 'forbidden' });
    }
    if (params.get('service') !== 'turn')
      return answer(res, 400, { error: 'service must be turn' });
    const { username, credential } = mintTurnCredential(
      options.secret,
      JANUS_TURN_USER,
      options.ttlS,
    );
    served++;
    answer(res, 200, { username, password: credential, ttl: options.ttlS, uris: options.turnUrls });
  };
  server.requestTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  options.log.debug('TURN REST endpoint for Janus listening', { port });
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/turn`,
    key,
    get served() {
      return served;
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function answer(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function collect(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
