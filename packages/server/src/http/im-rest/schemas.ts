/**
 * The IM REST routes' shapes, for the OpenAPI document only. Tencent's answers pick an error code
 * field by field (a bad GroupId is 10015, a bad Name 10004, a full group 10014: ./codes.ts), which
 * one schema check cannot, so the handlers check the bodies and these schemas describe them.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifySchema } from 'fastify';
import { adminSecurity } from '../schema.js';

const str = (description: string) => Type.Optional(Type.String({ description }));
const Member = Type.Object({
  Member_Account: Type.String({ description: 'A user ID' }),
  Role: str('Accepted, not kept'),
});
const GroupId = Type.String({ description: 'The group ID' });
const Silence = Type.Optional(Type.Integer({ enum: [0, 1], description: 'Accepted, not kept' }));

/** The limits the handlers enforce (./routes.ts), for the descriptions. */
export interface ImLimits {
  groupTypes: readonly string[];
  nameBytes: number;
  customGroupID: number;
  membersPerRequest: number;
  groupsPerInfo: number;
  accountsPerImport: number;
}

/** Each command's body, by its name in the URL. */
const bodies = (limits: ImLimits): Record<string, TSchema> => {
  const members = { maxItems: limits.membersPerRequest };
  return {
    create_group: Type.Object({
      Type: Type.String({ enum: [...limits.groupTypes] }),
      Name: Type.String({ description: `At most ${limits.nameBytes} bytes of UTF-8` }),
      GroupId: str(
        `At most ${limits.customGroupID} characters, not starting with "@TGS#"; ` +
          'one is assigned if absent',
      ),
      Owner_Account: str('Becomes the first member'),
      MemberList: Type.Optional(Type.Array(Member, members)),
      Introduction: str('Accepted, not kept'),
      Notification: str('Accepted, not kept'),
      FaceUrl: str('Accepted, not kept'),
      ApplyJoinOption: str('Accepted, not kept'),
      MaxMemberCount: Type.Optional(Type.Integer({ description: 'Accepted, not kept' })),
    }),
    add_group_member: Type.Object({
      GroupId,
      MemberList: Type.Array(Member, { minItems: 1, ...members }),
      Silence,
    }),
    delete_group_member: Type.Object({
      GroupId,
      MemberToDel_Account: Type.Array(Type.String(), { minItems: 1, ...members }),
      Silence,
      Reason: str('Accepted, not kept'),
    }),
    destroy_group: Type.Object({ GroupId }),
    get_group_info: Type.Object({
      GroupIdList: Type.Array(Type.String(), { minItems: 1, maxItems: limits.groupsPerInfo }),
      ResponseFilter: Type.Optional(
        Type.Object({
          GroupBaseInfoFilter: Type.Optional(Type.Array(Type.String())),
          MemberInfoFilter: Type.Optional(Type.Array(Type.String())),
        }),
      ),
    }),
    account_import: Type.Object({
      UserID: Type.String({ description: 'A user ID ("Identifier" in older docs)' }),
      Nick: str('Accepted, not kept'),
      FaceUrl: str('Accepted, not kept'),
    }),
    multiaccount_import: Type.Object({
      Accounts: Type.Array(Type.String(), {
        minItems: 1,
        maxItems: limits.accountsPerImport,
        description: 'User IDs; those Ringline does not accept come back in FailAccounts',
      }),
    }),
  };
};

/**
 * Every answer, HTTP 200 even when it failed; the command's own fields ride along (the serializer
 * keeps them: additionalProperties).
 */
const Reply = Type.Object(
  {
    ActionStatus: Type.String({ enum: ['OK', 'FAIL'] }),
    ErrorCode: Type.Integer({ description: "Tencent's error number; 0 when OK" }),
    ErrorInfo: Type.String(),
  },
  {
    additionalProperties: true,
    description: "Tencent's answer: OK with the command's fields, or FAIL",
  },
);

/** The query of Tencent's REST convention; the userSig is the security scheme's. */
const Query = Type.Object({
  sdkappid: Type.String({ description: "The app's SDKAppID" }),
  identifier: Type.String({ description: '"administrator"' }),
  random: Type.Optional(Type.String({ description: 'A 32-bit unsigned nonce' })),
  contenttype: Type.Optional(Type.String({ description: '"json"' })),
});

/** The OpenAPI description of each command: `schema(summary, command)` (no command: any other). */
export function imSchemas(limits: ImLimits) {
  const body = bodies(limits);
  return (summary: string, command?: string): FastifySchema => ({
    tags: ['im'],
    // Tencent's command names; unique, as OpenAPI wants.
    operationId: command ?? 'unknown_command',
    summary,
    security: adminSecurity.filter((s) => 'adminQuery' in s),
    querystring: Query,
    ...(command && { body: body[command] }),
    // A body too large is 413, in the same shape.
    response: { 200: Reply, 413: Reply },
  });
}

/** The handlers validate (see above): the schemas' own checks would answer with other codes. */
export const describeOnly = () => (value: unknown) => ({ value });
