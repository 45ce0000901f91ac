/**
 * The logged-in user's call history over HTTP(S), from the same server the WebSocket talks to:
 * `GET /api/calls`, `GET /api/calls/missed`, `POST /api/calls/missed/seen`, authenticated by the
 * user's own userSig (the server answers only that user's calls). A layer beside SignalClient:
 * the facade gives it the credentials; it knows nothing of calls in progress.
 */
import {
  MAX_HISTORY_PAGE,
  MAX_MARK_SEEN_IDS,
  type CallHistoryPage,
  type MissedCalls,
  type UserCallHistoryCall,
  type WireError,
} from '@ringline/protocol';
import { CallError } from '../errors.js';

/** Which page: the `next` of the previous one, and how many calls (1..200, default 50). */
export interface HistoryPageOptions {
  cursor?: string;
  limit?: number;
}

/** Which missed calls to mark seen; nothing given: all of them, up to now. */
export type MarkSeenOptions = { callIDs: string[] } | { before: number } | undefined;

/** What marking missed calls seen did. */
export interface MarkSeenResult {
  /** How many were unread and are now seen. */
  marked: number;
  /** Missed calls still unread. */
  unread: number;
}

/** Who asks: set at login, cleared at logout. */
export interface HistoryCredentials {
  userID: string;
  userSig: string;
  /**
   * The asking device: this login's session ID. The server then tells calls the user answered
   * on another device (`answered_elsewhere`) from calls answered here.
   */
  deviceID?: string | undefined;
}

type Fetch = typeof globalThis.fetch;

/** How long one history request may take. */
const REQUEST_TIMEOUT_MS = 10_000;

export class HistoryClient {
  /**
   * @param baseUrl The server's http(s) URL (its path, if any, is kept).
   * @param credentials The logged-in user, or undefined (the methods then reject NOT_LOGGED_IN).
   */
  constructor(
    private readonly baseUrl: string,
    private readonly credentials: () => HistoryCredentials | undefined,
    private readonly fetchImpl: Fetch | undefined = globalThis.fetch?.bind(globalThis),
  ) {}

  /** The user's calls, newest first. */
  calls(options: HistoryPageOptions = {}): Promise<CallHistoryPage<UserCallHistoryCall>> {
    return this.#request('getCallHistory', 'GET', `/api/calls`, pageQuery(options));
  }

  /** The user's missed calls, newest first, with how many are unread. */
  missed(options: HistoryPageOptions = {}): Promise<MissedCalls> {
    return this.#request('getMissedCalls', 'GET', `/api/calls/missed`, pageQuery(options));
  }

  /** Marks missed calls seen: the ones named, those started up to `before`, or all. */
  markSeen(which: MarkSeenOptions = undefined): Promise<MarkSeenResult> {
    let body: unknown = {};
    if (which !== undefined) {
      if ('callIDs' in which) {
        const ids = which.callIDs;
        if (
          !Array.isArray(ids) ||
          ids.length > MAX_MARK_SEEN_IDS ||
          !ids.every((id) => typeof id === 'string' && id.length > 0 && id.length <= 64)
        ) {
          throw CallError.invalidArgument('callIDs', `at most ${MAX_MARK_SEEN_IDS} call IDs`);
        }
        body = { callIDs: ids };
      } else if (Number.isSafeInteger(which.before) && which.before >= 0) {
        body = { before: which.before };
      } else {
        throw CallError.invalidArgument('before', 'a time in Unix ms');
      }
    }
    return this.#request('markMissedCallsSeen', 'POST', '/api/calls/missed/seen', {}, body);
  }

  async #request<T>(
    operation: string,
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string>,
    body?: unknown,
  ): Promise<T> {
    const who = this.credentials();
    if (!who) throw CallError.notLoggedIn(operation);
    if (!this.fetchImpl) throw CallError.notSupported('this environment has no fetch()');
    const url = new URL(this.baseUrl);
    url.pathname = url.pathname.replace(/\/+$/, '') + path;
    const device = method === 'GET' && who.deviceID !== undefined && { deviceID: who.deviceID };
    url.search = new URLSearchParams({ userID: who.userID, ...device, ...query }).toString();
    url.hash = '';
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(url.toString(), {
        method,
        headers: {
          authorization: `Bearer ${who.userSig}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (err) {
      if ((err as { name?: unknown })?.name === 'TimeoutError') {
        throw CallError.timeout(operation, REQUEST_TIMEOUT_MS);
      }
      throw CallError.disconnected(`${operation} could not reach the server`, err);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const error = (parsed as { error?: Partial<WireError> } | undefined)?.error;
      if (error && typeof error.code === 'number' && typeof error.message === 'string') {
        throw CallError.fromWire(error as WireError);
      }
      throw CallError.disconnected(`${operation}: the server answered HTTP ${res.status}`);
    }
    if (typeof parsed !== 'object' || parsed === null) {
      throw CallError.disconnected(`${operation}: the server's answer is not JSON`);
    }
    return parsed as T;
  }
}

function pageQuery(options: HistoryPageOptions): Record<string, string> {
  const query: Record<string, string> = {};
  const { cursor, limit } = options ?? {};
  if (cursor !== undefined) {
    if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 200) {
      throw CallError.invalidArgument('cursor', 'the `next` of a previous page');
    }
    query.cursor = cursor;
  }
  if (limit !== undefined) {
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_HISTORY_PAGE) {
      throw CallError.invalidArgument('limit', `an integer from 1 to ${MAX_HISTORY_PAGE}`);
    }
    query.limit = String(limit);
  }
  return query;
}

/** The server's http(s) URL for a ws(s) or http(s) one. */
export function httpBase(server: string): string {
  const url = new URL(server);
  const scheme = { 'ws:': 'http:', 'wss:': 'https:', 'http:': 'http:', 'https:': 'https:' }[
    url.protocol
  ];
  if (!scheme) throw CallError.invalidArgument('server', 'an http(s) URL');
  url.protocol = scheme;
  return url.toString();
}
