/**
 * The REST admin API for groups, authenticated the way Tencent's REST API is: a userSig for the
 * app's administrator account, minted with the app's secret key, in the query
 * (`?sdkappid=N&identifier=administrator&usersig=SIG`) or as `Authorization: Bearer SIG`.
 *
 *   POST   /api/admin/groups                          {groupID, name?, members?}  → 201 group
 *   GET    /api/admin/groups?after=ID&limit=N                                      → {groups, next?}
 *   GET    /api/admin/groups/:groupID                                             → group
 *   DELETE /api/admin/groups/:groupID                                             → 204
 *   POST   /api/admin/groups/:groupID/members         {userIDList}               → {added, alreadyMembers}
 *   DELETE /api/admin/groups/:groupID/members         {userIDList}               → {removed, notMembers}
 *   DELETE /api/admin/groups/:groupID/members/:userID                            → {removed, notMembers}
 *   GET    /api/admin/calls?userID&groupID&from&to&outcome&cursor&limit                → {calls, next?}
 *   GET    /api/admin/calls/:callID                                               → call
 *
 * Every error is `{"error": {code, name, message}}` with the HTTP status of its code's family.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { USER_ID_PATTERN, type MemberOutcome } from '@ringline/protocol';
import { verifyUserSig } from '../auth/usersig.js';
import { ServerError } from '../errors.js';
import type { GroupService } from '../groups/index.js';
import { silentLogger, type Logger } from '../log.js';
import type { CallHistory } from '../store/index.js';
import { toHttpError } from './errors.js';

/** The account whose userSig the admin API takes (Tencent's default admin account name). */
export const ADMIN_IDENTIFIER = 'administrator';
/** Largest admin request body: room for a full group's member list (10,000 × 32-char IDs). */
export const ADMIN_BODY_LIMIT = 512 * 1024;

export interface AdminRoutesOptions {
  sdkAppID: number;
  secretKey: string;
  groups: GroupService;
  /** Serves the call history under /api/admin/calls. */
  history?: CallHistory | undefined;
  logger?: Logger;
}

const unauthorized = (detail: string): ServerError =>
  new ServerError(
    'ADMIN_UNAUTHORIZED',
    `admin API needs an administrator userSig (?sdkappid=N&identifier=${ADMIN_IDENTIFIER}` +
      `&usersig=SIG or "Authorization: Bearer SIG"): ${detail}`,
  );

// Structure only: the GroupService checks IDs and lengths itself and phrases those errors, so the
// API and any other caller get the same messages.
const GroupIDParams = Type.Object({ groupID: Type.String() });
const MemberParams = Type.Object({ groupID: Type.String(), userID: Type.String() });
const CreateBody = Type.Object(
  {
    groupID: Type.String(),
    name: Type.Optional(Type.String()),
    members: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);
const MembersBody = Type.Object(
  { userIDList: Type.Array(Type.String()) },
  { additionalProperties: false },
);
// The auth parameters (and Tencent's `random`, `contenttype`) ride along in every query string.
const ListQuery = Type.Object({
  after: Type.Optional(Type.String()),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,6}$' })),
});

const userIdRe = new RegExp(USER_ID_PATTERN);

/** A Unix ms time in a query string. */
const TimeParam = Type.String({ pattern: '^[0-9]{1,15}$' });
/** Page parameters, shared by the admin and user history routes. */
export const HistoryPageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,6}$' })),
};
const CallsQuery = Type.Object({
  userID: Type.Optional(Type.String({ maxLength: 64 })),
  groupID: Type.Optional(Type.String({ maxLength: 64 })),
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
  outcome: Type.Optional(Type.String({ maxLength: 32 })),
  ...HistoryPageQuery,
});
const CallIDParams = Type.Object({ callID: Type.String() });

/** A page query's numbers; the history checks their ranges and phrases those errors. */
export function pageOptions(query: { cursor?: string; limit?: string }) {
  return {
    cursor: query.cursor,
    limit: query.limit === undefined ? undefined : Number(query.limit),
  };
}

/** Fastify validator from a TypeBox schema, failing with our coded errors. */
export function compile({ schema }: { schema: TSchema }) {
  const check = TypeCompiler.Compile(schema);
  return (data: unknown): { value: unknown } | { error: ServerError } => {
    if (check.Check(data)) return { value: data };
    if (data === undefined || data === null) {
      return { error: ServerError.invalidField('/', 'a JSON object body is required') };
    }
    const first = check.Errors(data).First();
    return {
      error: ServerError.invalidField(first?.path ?? '', first?.message ?? 'invalid'),
    };
  };
}

/** The admin API as a Fastify plugin (encapsulated: its error handler and limits are its own). */
export async function adminRoutes(app: FastifyInstance, options: AdminRoutesOptions) {
  const { sdkAppID, secretKey, groups } = options;
  const log = options.logger ?? silentLogger;

  app.setValidatorCompiler(compile);

  app.setErrorHandler((err: Error & { code?: unknown }, _req, reply) => {
    const { status, error: coded } = toHttpError(err);
    const error =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? new ServerError('FRAME_TOO_LARGE', `request body exceeds ${ADMIN_BODY_LIMIT} bytes`)
        : coded;
    if (status >= 500) log.error('admin request failed', { err, code: error.name });
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="ringline-admin"');
    if (status === 503 || status === 507) void reply.header('retry-after', '5');
    void reply.code(status).send({ error: error.toWire() });
  });

  // Before the body is read: nobody without the key gets to make us parse anything.
  app.addHook('onRequest', async (req) => {
    authenticate(req, sdkAppID, secretKey);
  });

  const routeOptions = { bodyLimit: ADMIN_BODY_LIMIT } as const;

  app.post(
    '/api/admin/groups',
    { ...routeOptions, schema: { body: CreateBody } },
    async (req, reply) => {
      const body = req.body as { groupID: string; name?: string; members?: string[] };
      const group = await groups.create(body);
      log.info('group created', { groupID: group.groupID, members: group.members.length });
      return reply.code(201).send(group);
    },
  );

  app.get('/api/admin/groups', { schema: { querystring: ListQuery } }, async (req) => {
    const { after, limit } = req.query as { after?: string; limit?: string };
    return groups.list({ after, limit: limit === undefined ? undefined : Number(limit) });
  });

  app.get('/api/admin/groups/:groupID', { schema: { params: GroupIDParams } }, async (req) => {
    return groups.show((req.params as { groupID: string }).groupID);
  });

  app.delete(
    '/api/admin/groups/:groupID',
    { schema: { params: GroupIDParams } },
    async (req, reply) => {
      const { groupID } = req.params as { groupID: string };
      await groups.delete(groupID);
      log.info('group deleted', { groupID });
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/admin/groups/:groupID/members',
    { ...routeOptions, schema: { params: GroupIDParams, body: MembersBody } },
    async (req) => {
      const { groupID } = req.params as { groupID: string };
      const { userIDList } = req.body as { userIDList: string[] };
      const result = await groups.addMembers(groupID, userIDList);
      log.info('group members added', { groupID, added: result.added.length });
      return { groupID, ...result };
    },
  );

  const remove = async (groupID: string, userIDList: string[]) => {
    const result = await groups.removeMembers(groupID, userIDList);
    log.info('group members removed', { groupID, removed: result.removed.length });
    return { groupID, ...result };
  };

  app.delete(
    '/api/admin/groups/:groupID/members',
    { ...routeOptions, schema: { params: GroupIDParams, body: MembersBody } },
    async (req) =>
      remove(
        (req.params as { groupID: string }).groupID,
        (req.body as { userIDList: string[] }).userIDList,
      ),
  );

  if (options.history) historyRoutes(app, options.history);

  app.delete(
    '/api/admin/groups/:groupID/members/:userID',
    { schema: { params: MemberParams } },
    async (req) => {
      const { groupID, userID } = req.params as { groupID: string; userID: string };
      if (!userIdRe.test(userID)) throw ServerError.invalidUserID('/userID', userID);
      return remove(groupID, [userID]);
    },
  );
}

/** The call history's admin routes. */
function historyRoutes(app: FastifyInstance, history: CallHistory): void {
  app.get('/api/admin/calls', { schema: { querystring: CallsQuery } }, async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const time = (v: string | undefined) => (v === undefined ? undefined : Number(v));
    const filter = {
      userID: q.userID,
      groupID: q.groupID,
      from: time(q.from),
      to: time(q.to),
      outcome: q.outcome as MemberOutcome | undefined,
    };
    return history.list(filter, pageOptions(q));
  });

  app.get('/api/admin/calls/:callID', { schema: { params: CallIDParams } }, async (req) => {
    const { callID } = req.params as { callID: string };
    const call = await history.get(callID);
    if (!call) throw ServerError.callNotFound(JSON.stringify(callID.slice(0, 64)));
    return call;
  });
}

/** Throws ADMIN_UNAUTHORIZED unless the request carries a valid administrator userSig. */
function authenticate(req: FastifyRequest, sdkAppID: number, secretKey: string): void {
  const query = req.query as Record<string, unknown>;
  const one = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw unauthorized(`"${name}" is given more than once`);
    return v;
  };
  const header = req.headers.authorization;
  let sig = one('usersig');
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw unauthorized('the Authorization header is not "Bearer <userSig>"');
    if (sig !== undefined && sig !== m[1]) {
      throw unauthorized('the query and the Authorization header carry different userSigs');
    }
    sig = m[1];
  }
  if (sig === undefined || sig === '') throw unauthorized('no userSig given');

  const identifier = one('identifier') ?? ADMIN_IDENTIFIER;
  if (identifier !== ADMIN_IDENTIFIER) {
    throw unauthorized(
      `identifier must be "${ADMIN_IDENTIFIER}", not ${JSON.stringify(identifier.slice(0, 64))}`,
    );
  }
  const appText = one('sdkappid');
  // Tencent's convention always names the app; with a Bearer header it may be left out.
  if (appText === undefined && header === undefined) throw unauthorized('no sdkappid given');
  if (appText !== undefined && appText !== String(sdkAppID)) {
    throw unauthorized(
      `this server serves SDKAppID ${sdkAppID}, not ${JSON.stringify(appText.slice(0, 20))}`,
    );
  }
  try {
    verifyUserSig(sig, { sdkAppID, secretKey, userID: ADMIN_IDENTIFIER });
  } catch (err) {
    throw unauthorized(err instanceof Error ? err.message : String(err));
  }
}
