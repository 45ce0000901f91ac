/**
 * One user's own call history, for the SDK and the app's front end, authenticated by that user's
 * userSig (verified as at login): `Authorization: Bearer SIG` with `?userID=ID`, or Tencent's
 * query convention `?sdkappid=N&identifier=ID&usersig=SIG`. A userSig answers only for the user
 * it was made for, so nobody reads another user's calls.
 *
 *   GET  /api/calls?userID&deviceID&cursor&limit          → {calls, next?}  (UserCallHistoryCall)
 *   GET  /api/calls/missed?userID&deviceID&cursor&limit   → {unread, calls, next?}
 *   POST /api/calls/missed/seen?userID  {before} | {callIDs} | {}  → {marked, unread}
 *        ({} marks every missed call up to now)
 *
 * `deviceID` (optional): the asking device's session ID (`--multi-device ring-all`); calls the
 * user answered on another device are then `answered_elsewhere`.
 *
 * Browsers on another origin may call it (CORS, no cookies: the userSig is the credential).
 * Each source address has a token bucket, as logins do before their session exists.
 * Described, with the admin API, at /api/docs (./docs.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEVICE_ID_PATTERN, MAX_MARK_SEEN_IDS } from '@ringline/protocol';
import { verifyUserSig } from '../auth/usersig.js';
import { ServerError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { TokenBucket, type RateLimitOptions } from '../signal/rate-limit.js';
import { isValidUserID } from '../signal/validate.js';
import type { CallHistory } from '../store/index.js';
import { ADMIN_IDENTIFIER } from './admin.js';
import { toHttpError } from './errors.js';
import {
  AuthQuery,
  HistoryPageQuery,
  MissedPage,
  operation,
  pageOptions,
  typeBoxRoutes,
  UserCallPage,
  userSecurity,
} from './schema.js';

/**
 * Per source address, as logins before their session (the server passes its
 * `--prelogin-rate-limit`): 200 requests at once, 100 a second after that.
 */
export const DEFAULT_USER_API_RATE: Readonly<RateLimitOptions> = { burst: 200, perSecond: 100 };
/** Addresses whose buckets are kept; past it, full buckets (idle addresses) are forgotten. */
const MAX_TRACKED_ADDRESSES = 10_000;
/** Largest mark-seen body: 100 call IDs of 64 characters, and room to spare. */
const USER_BODY_LIMIT = 16 * 1024;

export interface UserHistoryRoutesOptions {
  sdkAppID: number;
  secretKey: string;
  history: CallHistory;
  rate?: RateLimitOptions;
  logger?: Logger;
}

/** Whose history: `userID` (with a Bearer userSig) or Tencent's `identifier` (with `usersig`). */
const UserQuery = {
  userID: Type.Optional(Type.String({ description: 'The user whose userSig this is' })),
  identifier: Type.Optional(Type.String({ description: 'The same, Tencent-style' })),
  sdkappid: AuthQuery.sdkappid,
};
const PageQuery = Type.Object({
  ...UserQuery,
  deviceID: Type.Optional(
    Type.String({
      pattern: DEVICE_ID_PATTERN,
      description:
        "The asking device's session ID: calls answered on another are answered_elsewhere",
    }),
  ),
  ...HistoryPageQuery,
});
const SeenBody = Type.Union(
  [
    Type.Object({}, { additionalProperties: false, description: 'Every missed call up to now' }),
    Type.Object(
      {
        before: Type.Integer({ minimum: 0, description: 'Missed calls started before (Unix ms)' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        callIDs: Type.Array(Type.String({ maxLength: 64 }), {
          maxItems: MAX_MARK_SEEN_IDS,
          description: 'These missed calls',
        }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'Which missed calls to mark seen' },
);
const Seen = Type.Object(
  {
    marked: Type.Integer({ description: 'Calls newly marked seen' }),
    unread: Type.Integer({ description: 'Missed calls still unread' }),
  },
  { description: 'How many were marked, and how many are unread now' },
);

/** What every user history route's schema has: its tag, auth and error answers. */
const user = operation(['history'], userSecurity);

/** Bounded per-address buckets. */
class AddressBuckets {
  readonly #buckets = new Map<string, TokenBucket>();
  constructor(private readonly rate: RateLimitOptions) {}

  take(address: string): boolean {
    let bucket = this.#buckets.get(address);
    if (!bucket) {
      if (this.#buckets.size >= MAX_TRACKED_ADDRESSES) this.#forget();
      bucket = new TokenBucket(this.rate);
      this.#buckets.set(address, bucket);
    }
    return bucket.take();
  }

  /** Forgets idle addresses (full buckets lose nothing); if none is idle, the oldest half. */
  #forget(): void {
    for (const [address, bucket] of this.#buckets) {
      if (bucket.full) this.#buckets.delete(address);
    }
    let drop = this.#buckets.size - MAX_TRACKED_ADDRESSES / 2;
    for (const address of this.#buckets.keys()) {
      if (drop-- <= 0) break;
      this.#buckets.delete(address);
    }
  }
}

/** The user history API as a Fastify plugin (encapsulated: its own error handler and hooks). */
export async function userHistoryRoutes(app: FastifyInstance, options: UserHistoryRoutesOptions) {
  const { sdkAppID, secretKey, history } = options;
  const log = options.logger ?? silentLogger;
  const buckets = new AddressBuckets(options.rate ?? DEFAULT_USER_API_RATE);

  const api = typeBoxRoutes(app);
  app.setErrorHandler((err: Error, _req, reply) => {
    const { status, error } = toHttpError(err);
    if (status >= 500) log.error('call history request failed', { err, code: error.name });
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="ringline"');
    if (status === 429) void reply.header('retry-after', '1');
    if (status === 503 || status === 507) void reply.header('retry-after', '5');
    void reply.code(status).send({ error: error.toWire() });
  });

  app.addHook('onSend', async (_req, reply) => {
    void reply.header('access-control-allow-origin', '*');
    void reply.header('cache-control', 'no-store');
  });
  // Before the body is read and before the userSig's HMAC is computed.
  app.addHook('onRequest', async (req) => {
    if (!buckets.take(req.ip)) throw ServerError.rateLimited();
    if (req.method === 'OPTIONS') return;
    (req as UserRequest).userID = authenticate(req, sdkAppID, secretKey);
  });

  const preflight = async (_req: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(204)
      .header('access-control-allow-methods', 'GET, POST')
      .header('access-control-allow-headers', 'authorization, content-type')
      .header('access-control-max-age', '600')
      .send();
  // CORS preflights: for browsers, not part of the API the document describes.
  for (const path of ['/api/calls', '/api/calls/missed', '/api/calls/missed/seen']) {
    app.options(path, { schema: { hide: true } }, preflight);
  }

  api.get(
    '/api/calls',
    {
      schema: {
        ...user('listMyCalls', "The user's calls, newest first", { 200: UserCallPage }),
        querystring: PageQuery,
      },
    },
    async (req) => history.forUser(userOf(req), userPage(req.query)),
  );

  api.get(
    '/api/calls/missed',
    {
      schema: {
        ...user('listMyMissedCalls', "The user's missed calls, newest first", { 200: MissedPage }),
        querystring: PageQuery,
      },
    },
    async (req) => history.missed(userOf(req), userPage(req.query)),
  );

  api.post(
    '/api/calls/missed/seen',
    {
      bodyLimit: USER_BODY_LIMIT,
      schema: {
        ...user('markMissedCallsSeen', 'Mark missed calls seen', { 200: Seen }),
        querystring: Type.Object(UserQuery),
        body: SeenBody,
      },
    },
    async (req) => {
      const userID = userOf(req);
      const body = req.body;
      const which =
        'callIDs' in body ? body : { before: 'before' in body ? body.before : Date.now() };
      const marked = await history.markSeen(userID, which);
      return { marked, unread: await history.unreadMissed(userID) };
    },
  );
}

type UserRequest = FastifyRequest & { userID?: string };

const userOf = (req: FastifyRequest): string => (req as UserRequest).userID!;

/** A user page query: the page, and the device asking. */
/** A page of the user's history, seen from the asking device (if it says which). */
function userPage(query: Static<typeof PageQuery>) {
  return { ...pageOptions(query), deviceID: query.deviceID };
}

/** The user the request's userSig was made for; USERSIG_* or INVALID_USER_ID otherwise. */
function authenticate(req: FastifyRequest, sdkAppID: number, secretKey: string): string {
  const query = req.query as Record<string, unknown>;
  const one = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw ServerError.invalidField(`/${name}`, 'given more than once');
    return v;
  };
  let sig = one('usersig');
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw ServerError.userSigInvalid('the Authorization header is not "Bearer <userSig>"');
    if (sig !== undefined && sig !== m[1]) {
      throw ServerError.userSigInvalid('the query and the Authorization header differ');
    }
    sig = m[1];
  }
  if (sig === undefined || sig === '') throw ServerError.userSigInvalid('no userSig given');
  const identifier = one('identifier');
  const userID = one('userID') ?? identifier;
  if (identifier !== undefined && userID !== identifier) {
    throw ServerError.invalidField('/identifier', 'names another user than userID');
  }
  if (userID === undefined) throw ServerError.invalidField('/userID', 'is required');
  if (!isValidUserID(userID)) throw ServerError.invalidUserID('/userID', userID);
  // The administrator reads everyone's calls through the admin API, not as a user.
  if (userID === ADMIN_IDENTIFIER) throw ServerError.reservedUserID(userID);
  const app = one('sdkappid');
  if (app !== undefined && app !== String(sdkAppID)) {
    throw ServerError.unknownApp(Number(app.slice(0, 12)));
  }
  verifyUserSig(sig, { sdkAppID, secretKey, userID });
  return userID;
}
