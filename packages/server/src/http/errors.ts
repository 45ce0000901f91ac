/**
 * Every HTTP error as `{"error": {code, name, message}}` with a code from the registry. Messages
 * are fixed per case and never echo the request: its URL carries the admin `usersig`.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ServerError } from '../errors.js';
import { storageFailure } from '../store/index.js';

/**
 * HTTP status for a coded error: its code's family (404xx → 404), except 401 for admin auth and
 * 429 for a rate limit.
 */
export function statusOf(err: ServerError): number {
  if (err.name === 'ADMIN_UNAUTHORIZED') return 401;
  if (err.name === 'RATE_LIMITED') return 429;
  const family = Math.floor(err.code / 100);
  return family >= 400 && family < 600 ? family : 500;
}

/** Fastify's request errors (fastify/lib/errors.js), each with a message that echoes nothing. */
const FASTIFY_ERRORS: Record<string, [status: number, error: () => ServerError]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    415,
    () => ServerError.malformed('request body must be application/json'),
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: [
    400,
    () => ServerError.malformed('request body is empty but Content-Type is application/json'),
  ],
  FST_ERR_CTP_INVALID_JSON_BODY: [
    400,
    () => ServerError.malformed('request body is not valid JSON'),
  ],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    400,
    () => ServerError.malformed('request body size does not match Content-Length'),
  ],
  FST_ERR_CTP_BODY_TOO_LARGE: [
    413,
    () => new ServerError('FRAME_TOO_LARGE', 'request body is larger than this route accepts'),
  ],
  FST_ERR_CTP_INVALID_TYPE: [400, () => ServerError.malformed('Content-Type is not valid')],
  FST_ERR_BAD_URL: [400, () => ServerError.malformed('the request URL is not valid')],
  FST_ERR_ASYNC_CONSTRAINT: [400, () => ServerError.malformed('the request was refused')],
};

/** A thrown value as the HTTP status and coded error to answer with. */
export function toHttpError(err: unknown): { status: number; error: ServerError } {
  if (err instanceof ServerError) return { status: statusOf(err), error: err };
  const storage = storageFailure(err);
  if (storage !== undefined) {
    const error = ServerError.storage(storage === 'full', err);
    return { status: statusOf(error), error };
  }
  const e = (err ?? {}) as { code?: unknown; statusCode?: unknown; name?: unknown };
  const known = typeof e.code === 'string' ? FASTIFY_ERRORS[e.code] : undefined;
  if (known) return { status: known[0], error: known[1]() };
  // JSON.parse's own SyntaxError (Node's messages quote the body), as fastify rethrows it.
  if (e.name === 'SyntaxError' && e.statusCode === 400) {
    return { status: 400, error: ServerError.malformed('request body is not valid JSON') };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = typeof e.code === 'string' ? ` (${e.code.slice(0, 40)})` : '';
    return {
      status: e.statusCode,
      error: ServerError.malformed(`the request was refused${code}`),
    };
  }
  return { status: 500, error: ServerError.internal(err) };
}

/** Headers every response carries (see `securityHeaders`); also written on raw socket errors. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  // Browsers must not guess a type: a JSON error or an SDK bundle is never run as something else.
  'x-content-type-options': 'nosniff',
  // The admin API's URLs carry a userSig; never leak them to another site.
  'referrer-policy': 'no-referrer',
  // Nothing here is meant to be framed (clickjacking of the demo's call buttons).
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
};

/** Over TLS only (a browser ignores it over plain HTTP, and it must not pin a dev server). */
export const HSTS = 'max-age=31536000';

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser rejects before any route runs — a
 * request or its headers that did not arrive within the timeout (408), headers too large (431),
 * not HTTP at all (400) — answered in the same shape, then the connection is closed.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // A response already started on this socket cannot be replaced; just close it.
  const started = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage
    ?.headersSent;
  if (socket.writable && !started) {
    let status = 400;
    let error = ServerError.malformed('the request is not valid HTTP/1.1');
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      error = new ServerError('REQUEST_TIMEOUT', 'the request did not arrive in time');
    } else if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      error = new ServerError('FRAME_TOO_LARGE', 'the request headers are too large');
    }
    const body = JSON.stringify({ error: error.toWire() });
    const headers = Object.entries(SECURITY_HEADERS)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\n` +
        `content-type: application/json; charset=utf-8\r\n${headers}` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
