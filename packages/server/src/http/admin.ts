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
 * The routes' TypeBox schemas check the requests, write the answers and make the OpenAPI
 * document at /api/docs (./docs.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MemberOutcome, USER_ID_PATTERN } from '@ringline/protocol';
import { verifyUserSig } from '../auth/usersig.js';
import { ServerError } from '../errors.js';
import {
  MAX_GROUP_NAME_LENGTH,
  MAX_LIST_LIMIT,
  type GroupDetails,
  type GroupService,
  type GroupSummary,
} from '../groups/index.js';
import { silentLogger, type Logger } from '../log.js';
import type { CallHistory } from '../store/index.js';
import { toHttpError } from './errors.js';
import {
  adminSecurity,
  AuthQuery,
  Call,
  CallPage,
  HistoryPageQuery,
  operation,
  pageOptions,
  same,
  typeBoxRoutes,
} from './schema.js';

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
    groupID: Type.String({ description: 'Letters, digits, "_", "@", "#", ".", "-"; 1-64' }),
    name: Type.Optional(
      Type.String({ description: `At most ${MAX_GROUP_NAME_LENGTH} characters` }),
    ),
    members: Type.Optional(Type.Array(Type.String(), { description: 'User IDs to add' })),
  },
  { additionalProperties: false },
);
const MembersBody = Type.Object(
  { userIDList: Type.Array(Type.String(), { description: 'User IDs, at least one' }) },
  { additionalProperties: false },
);
/** The query parameters of Tencent's REST auth convention (the userSig is the security scheme's). */
const AdminQuery = {
  ...AuthQuery,
  identifier: Type.Optional(Type.String({ description: '"administrator"' })),
};
const AuthOnly = Type.Object(AdminQuery);
const ListQuery = Type.Object({
  ...AdminQuery,
  after: Type.Optional(Type.String({ description: 'The `next` of the previous page' })),
  limit: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,6}$',
      description: `Groups per page, 1-${MAX_LIST_LIMIT} (default 100)`,
    }),
  ),
});

const Group = Type.Object(
  {
    groupID: Type.String(),
    name: Type.String(),
    createdAt: Type.Integer({ description: 'Unix ms' }),
    members: Type.Array(
      Type.Object({ userID: Type.String(), joinedAt: Type.Integer({ description: 'Unix ms' }) }),
      { description: 'Ordered by user ID' },
    ),
  },
  { description: 'The group with its members' },
);
const GroupSummaryReply = Type.Object({
  groupID: Type.String(),
  name: Type.String(),
  createdAt: Type.Integer({ description: 'Unix ms' }),
  memberCount: Type.Integer(),
});
const GroupList = Type.Object(
  {
    groups: Type.Array(GroupSummaryReply),
    next: Type.Optional(Type.String({ description: 'The `after` of the following page' })),
  },
  { description: 'A page of groups, by ID' },
);
const Added = Type.Object(
  {
    groupID: Type.String(),
    added: Type.Array(Type.String()),
    alreadyMembers: Type.Array(Type.String()),
  },
  { description: 'Who was added, and who was a member already' },
);
const Removed = Type.Object(
  {
    groupID: Type.String(),
    removed: Type.Array(Type.String()),
    notMembers: Type.Array(Type.String()),
  },
  { description: 'Who was removed, and who was not a member' },
);
// Answers are serialized by these schemas, which write only the fields they name.
same<Static<typeof Group>, GroupDetails>(true);
same<Static<typeof GroupSummaryReply>, GroupSummary>(true);

const userIdRe = new RegExp(USER_ID_PATTERN);

/** A Unix ms time in a query string. */
const TimeParam = (description: string) =>
  Type.String({ pattern: '^[0-9]{1,15}$', description: `${description} (Unix ms)` });
const CallsQuery = Type.Object({
  ...AdminQuery,
  userID: Type.Optional(Type.String({ maxLength: 64, description: 'Calls this user was in' })),
  groupID: Type.Optional(Type.String({ maxLength: 64, description: 'Calls into this group' })),
  from: Type.Optional(TimeParam('Started at or after')),
  to: Type.Optional(TimeParam('Started before')),
  outcome: Type.Optional(
    Type.String({
      maxLength: 32,
      description: `A member's outcome (with userID: that user's): ${Object.values(MemberOutcome).join(', ')}`,
    }),
  ),
  ...HistoryPageQuery,
});
const CallIDParams = Type.Object({ callID: Type.String() });

/** What every admin route's schema has: its tag, auth and error answers. */
const admin = operation(['admin'], adminSecurity);

/** The admin API as a Fastify plugin (encapsulated: its error handler and limits are its own). */
export async function adminRoutes(app: FastifyInstance, options: AdminRoutesOptions) {
  const { sdkAppID, secretKey, groups } = options;
  const log = options.logger ?? silentLogger;
  const api = typeBoxRoutes(app);

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

  api.post(
    '/api/admin/groups',
    {
      ...routeOptions,
      schema: {
        ...admin('createGroup', 'Create a group', { 201: Group }),
        querystring: AuthOnly,
        body: CreateBody,
      },
    },
    async (req, reply) => {
      const group = await groups.create(req.body);
      log.info('group created', { groupID: group.groupID, members: group.members.length });
      return reply.code(201).send(group);
    },
  );

  api.get(
    '/api/admin/groups',
    {
      schema: {
        ...admin('listGroups', 'List groups by ID', { 200: GroupList }),
        querystring: ListQuery,
      },
    },
    async (req) => {
      const { after, limit } = req.query;
      return groups.list({ after, limit: limit === undefined ? undefined : Number(limit) });
    },
  );

  api.get(
    '/api/admin/groups/:groupID',
    {
      schema: {
        ...admin('getGroup', 'A group with its members', { 200: Group }),
        querystring: AuthOnly,
        params: GroupIDParams,
      },
    },
    async (req) => groups.show(req.params.groupID),
  );

  api.delete(
    '/api/admin/groups/:groupID',
    {
      schema: {
        ...admin('deleteGroup', 'Delete a group', { 204: Type.Null({ description: 'Deleted' }) }),
        querystring: AuthOnly,
        params: GroupIDParams,
      },
    },
    async (req, reply) => {
      const { groupID } = req.params;
      await groups.delete(groupID);
      log.info('group deleted', { groupID });
      return reply.code(204).send(null);
    },
  );

  api.post(
    '/api/admin/groups/:groupID/members',
    {
      ...routeOptions,
      schema: {
        ...admin('addGroupMembers', 'Add members', { 200: Added }),
        querystring: AuthOnly,
        params: GroupIDParams,
        body: MembersBody,
      },
    },
    async (req) => {
      const { groupID } = req.params;
      const result = await groups.addMembers(groupID, req.body.userIDList);
      log.info('group members added', { groupID, added: result.added.length });
      return { groupID, ...result };
    },
  );

  const remove = async (groupID: string, userIDList: string[]) => {
    const result = await groups.removeMembers(groupID, userIDList);
    log.info('group members removed', { groupID, removed: result.removed.length });
    return { groupID, ...result };
  };

  api.delete(
    '/api/admin/groups/:groupID/members',
    {
      ...routeOptions,
      schema: {
        ...admin('removeGroupMembers', 'Remove members', { 200: Removed }),
        querystring: AuthOnly,
        params: GroupIDParams,
        body: MembersBody,
      },
    },
    async (req) => remove(req.params.groupID, req.body.userIDList),
  );

  if (options.history) historyRoutes(api, options.history);

  api.delete(
    '/api/admin/groups/:groupID/members/:userID',
    {
      schema: {
        ...admin('removeGroupMember', 'Remove one member', { 200: Removed }),
        querystring: AuthOnly,
        params: MemberParams,
      },
    },
    async (req) => {
      const { groupID, userID } = req.params;
      if (!userIdRe.test(userID)) throw ServerError.invalidUserID('/userID', userID);
      return remove(groupID, [userID]);
    },
  );
}

/** The call history's admin routes. */
function historyRoutes(api: ReturnType<typeof typeBoxRoutes>, history: CallHistory): void {
  api.get(
    '/api/admin/calls',
    {
      schema: {
        ...admin('listCalls', 'Recorded calls, newest first', { 200: CallPage }),
        tags: ['admin', 'history'],
        querystring: CallsQuery,
      },
    },
    async (req) => {
      const q = req.query;
      const time = (v: string | undefined) => (v === undefined ? undefined : Number(v));
      const filter = {
        userID: q.userID,
        groupID: q.groupID,
        from: time(q.from),
        to: time(q.to),
        outcome: q.outcome as MemberOutcome | undefined,
      };
      return history.list(filter, pageOptions(q));
    },
  );

  api.get(
    '/api/admin/calls/:callID',
    {
      schema: {
        ...admin('getCall', 'One recorded call', { 200: Call }),
        tags: ['admin', 'history'],
        querystring: AuthOnly,
        params: CallIDParams,
      },
    },
    async (req) => {
      const { callID } = req.params;
      const call = await history.get(callID);
      if (!call) throw ServerError.callNotFound(JSON.stringify(callID.slice(0, 64)));
      return call;
    },
  );
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
