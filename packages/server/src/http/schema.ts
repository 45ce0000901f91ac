/**
 * What the REST routes share for their TypeBox schemas: the validator (the type provider's) with
 * our coded errors, the error reply, the auth parameters, and the call history's shapes. The same
 * schemas check the requests, serialize the answers and make the OpenAPI document (./docs.ts).
 */
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import {
  CallEndReason,
  CallType,
  DEFAULT_HISTORY_PAGE,
  MAX_HISTORY_PAGE,
  MediaMode,
  MemberOutcome,
  type CallHistoryCall,
  type CallHistoryMember,
  type CallHistoryPage,
  type MemberRole,
  type MissedCalls,
  type UserCallHistoryCall,
} from '@ringline/protocol';
import { ServerError } from '../errors.js';

/** The type provider's validator; a missing body gets its own message (the schema's is "Expected object"). */
const validatorCompiler: FastifySchemaCompiler<TSchema> = (route) => {
  const check = TypeBoxValidatorCompiler(route);
  if (route.httpPart !== 'body') return check;
  return (data) =>
    data === undefined || data === null
      ? { error: ServerError.invalidField('/', 'a JSON object body is required') }
      : check(data);
};

/** A failed check as INVALID_FIELD naming the first wrong field, as every other bad input is. */
function schemaErrorFormatter(errors: { instancePath?: string; message?: string }[]): Error {
  const first = errors[0];
  return ServerError.invalidField(first?.instancePath ?? '', first?.message ?? 'invalid');
}

/**
 * The plugin's routes checked by their TypeBox schemas (typed through the type provider), failures
 * answered as INVALID_FIELD by the plugin's error handler.
 */
export function typeBoxRoutes(app: FastifyInstance) {
  app.setValidatorCompiler(validatorCompiler);
  app.setSchemaErrorFormatter(schemaErrorFormatter);
  return app.withTypeProvider<TypeBoxTypeProvider>();
}

/** `{"error": {code, name, message}}`, every error's answer (./errors.ts). */
export const ErrorReply = Type.Object(
  {
    error: Type.Object({
      code: Type.Integer({ description: 'From the registry, docs/errors.md' }),
      name: Type.String({ description: "The code's name, e.g. INVALID_FIELD" }),
      message: Type.String(),
    }),
  },
  { description: 'A coded error (docs/errors.md)' },
);
/** The error answers every REST route may give. */
export const errorReplies = { '4xx': ErrorReply, '5xx': ErrorReply };

/** The OpenAPI security schemes: a userSig as a Bearer token, or in the query (Tencent's way). */
export const SECURITY_SCHEMES = {
  adminBearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'userSig',
    description: 'A userSig made for the administrator account "administrator".',
  },
  adminQuery: {
    type: 'apiKey',
    in: 'query',
    name: 'usersig',
    description:
      "The administrator's userSig in the query, with sdkappid=N and identifier=administrator.",
  },
  userBearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'userSig',
    description: "A user's own userSig, with userID=ID in the query.",
  },
  userQuery: {
    type: 'apiKey',
    in: 'query',
    name: 'usersig',
    description: "A user's own userSig in the query, with sdkappid=N and identifier=ID.",
  },
} as const;
/** Either scheme of the pair does (OpenAPI: alternatives are separate requirement objects). */
type Security = Record<string, string[]>[];
export const adminSecurity: Security = [{ adminBearer: [] }, { adminQuery: [] }];
export const userSecurity: Security = [{ userBearer: [] }, { userQuery: [] }];

/** The documentation every REST route's schema carries: tags, operationId, auth, error answers. */
export const operation =
  (tags: string[], security: Security) =>
  <R extends Record<number, unknown>>(operationId: string, summary: string, response: R) => ({
    tags,
    operationId,
    summary,
    security,
    response: { ...response, ...errorReplies },
  });

/**
 * The query parameters of Tencent's REST convention, which the routes' auth reads (before the
 * schema check; here so that the document lists them).
 */
export const AuthQuery = {
  sdkappid: Type.Optional(Type.String({ description: "The app's SDKAppID" })),
  random: Type.Optional(Type.String({ description: "Tencent's request nonce; ignored" })),
  contenttype: Type.Optional(Type.String({ description: 'Tencent\'s "json"; ignored' })),
};

/** Page parameters, shared by the admin and user history routes. */
export const HistoryPageQuery = {
  cursor: Type.Optional(
    Type.String({ maxLength: 200, description: 'The `next` of the previous page' }),
  ),
  limit: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,6}$',
      description: `Calls per page, 1-${MAX_HISTORY_PAGE} (default ${DEFAULT_HISTORY_PAGE})`,
    }),
  ),
};

/** A page query's numbers; the history checks their ranges and phrases those errors. */
export function pageOptions(query: { cursor?: string | undefined; limit?: string | undefined }) {
  return {
    cursor: query.cursor,
    limit: query.limit === undefined ? undefined : Number(query.limit),
  };
}

// Enums are documented, not enforced, in answers: the serializer writes any string (a value added
// to the protocol later is not turned into a 500).
const stringEnum = <T extends string>(values: readonly T[], description: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], description });
const Time = (description: string) => Type.Integer({ description: `${description} (Unix ms)` });
const Outcome = stringEnum(Object.values(MemberOutcome), 'How the part ended');
const Role = stringEnum<MemberRole>(['inviter', 'invitee', 'joiner'], 'How they came in');

const Member = Type.Object({
  userID: Type.String(),
  role: Role,
  invitedAt: Type.Optional(Time('Invited')),
  answeredAt: Type.Optional(Time('Answered')),
  joinedAt: Type.Optional(Time('Entered the call, last time')),
  leftAt: Type.Optional(Time('Their part ended')),
  outcome: Type.Optional(Outcome),
  deviceID: Type.Optional(
    Type.String({ description: 'The device that answered (admin API, ring-all mode only)' }),
  ),
});

const callFields = {
  callID: Type.String(),
  roomID: Type.Integer(),
  sponsor: Type.String({ description: 'The caller' }),
  groupID: Type.Optional(Type.String()),
  callType: Type.Unsafe<CallType>({
    type: 'integer',
    enum: Object.values(CallType),
    description: '1 audio, 2 video',
  }),
  media: stringEnum(Object.values(MediaMode), 'The media mode it ended in'),
  startedAt: Time('Started'),
  connectedAt: Type.Optional(Time('The first invitee joined')),
  endedAt: Type.Optional(Time('Ended')),
  endReason: Type.Optional(
    stringEnum([...Object.values(CallEndReason), 'server_restart'] as const, 'Why it ended'),
  ),
  durationMs: Type.Integer({ description: 'From connect to end' }),
  members: Type.Array(Member),
};

export const Call = Type.Object(callFields, { description: 'A recorded call' });
export const UserCall = Type.Object(
  {
    ...callFields,
    role: Role,
    outcome: Type.Optional(Outcome),
    missed: Type.Boolean({ description: 'Invited and never answered' }),
    seen: Type.Boolean({ description: 'A missed call marked seen (true if not missed)' }),
  },
  { description: "A recorded call with the user's part in it" },
);
const next = Type.Optional(Type.String({ description: 'The cursor of the following page' }));
export const CallPage = Type.Object(
  { calls: Type.Array(Call), next },
  { description: 'A page of calls, newest first' },
);
export const UserCallPage = Type.Object(
  { calls: Type.Array(UserCall), next },
  { description: "A page of the user's calls, newest first" },
);
export const MissedPage = Type.Object(
  {
    unread: Type.Integer({ description: 'Missed calls not yet marked seen' }),
    calls: Type.Array(UserCall),
    next,
  },
  { description: "The user's unread count and a page of missed calls" },
);

// The answers are serialized by these schemas, which write only the fields they name: each must
// name exactly the protocol type's fields, or the build fails here.
type Same<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only if A and B are the same type: `same<Static<typeof S>, T>(true)`. */
export const same = <A, B>(ok: Same<A, B>): Same<A, B> => ok;
same<Static<typeof Member>, CallHistoryMember>(true);
same<Static<typeof Call>, CallHistoryCall>(true);
same<Static<typeof UserCall>, UserCallHistoryCall>(true);
same<Static<typeof CallPage>['next'], CallHistoryPage['next']>(true);
same<keyof Static<typeof MissedPage>, keyof MissedCalls>(true);
