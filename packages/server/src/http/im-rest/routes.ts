/**
 * Tencent IM's REST API for groups, served beside our admin API so that an app backend written
 * for Tencent keeps creating and filling the groups its users call into:
 *
 *   POST /v4/group_open_http_svc/{create_group, add_group_member, delete_group_member,
 *                                 destroy_group, get_group_info}
 *        ?sdkappid=N&identifier=administrator&usersig=SIG&random=R&contenttype=json
 *
 * Request and response shapes are Tencent's: every answer is HTTP 200 with
 * `{ActionStatus: "OK" | "FAIL", ErrorCode, ErrorInfo, ...}` and Tencent's error numbers
 * (./codes.ts). The groups are the GroupService's, the same ones /api/admin/groups manages.
 */
import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { USER_ID_PATTERN } from '@ringline/protocol';
import { verifyUserSig } from '../../auth/usersig.js';
import { ServerError } from '../../errors.js';
import {
  GROUP_ID_PATTERN,
  MAX_GROUP_MEMBERS,
  type GroupDetails,
  type GroupService,
} from '../../groups/index.js';
import { silentLogger, type Logger } from '../../log.js';
import { storageFailure } from '../../store/index.js';
import { ADMIN_IDENTIFIER } from '../admin.js';
import { fromServerError, ImRestError, TencentCode as T } from './codes.js';
import { describeOnly, imSchemas } from './schemas.js';

/** The REST service our routes live under. */
export const IM_REST_PREFIX = '/v4/group_open_http_svc';
/** Tencent's account service: its imports are accepted (Ringline needs none; see below). */
export const IM_ACCOUNT_PREFIX = '/v4/im_open_login_svc';
/** Most accounts one multiaccount_import names (Tencent: 100). */
export const IM_REST_MAX_ACCOUNTS_PER_IMPORT = 100;
/** Largest request body: 500 members with their optional fields fit with room to spare. */
export const IM_REST_BODY_LIMIT = 128 * 1024;
/** Most members one create_group / add_group_member / delete_group_member names (Tencent: 500). */
export const IM_REST_MAX_MEMBERS_PER_REQUEST = 500;
/** Most groups one get_group_info asks for (Tencent: 50). */
export const IM_REST_MAX_GROUPS_PER_INFO = 50;
/** Most members one get_group_info answer lists, summed over its groups (keeps it near 1 MB). */
export const IM_REST_MAX_MEMBERS_PER_INFO = MAX_GROUP_MEMBERS;
/** Tencent's limits: a group name of 30 bytes, a custom group ID of 48 (UTF-8). */
const MAX_NAME_BYTES = 30;
const MAX_CUSTOM_GROUP_ID = 48;
/** Tencent's group types; Ringline keeps none of them (see docs/migration.md). */
const GROUP_TYPES = new Set([
  'Private',
  'Public',
  'ChatRoom',
  'AVChatRoom',
  'Community',
  'Work',
  'Meeting',
]);
/** Tencent's prefix for the IDs it assigns; a custom ID may not start with it. */
const ASSIGNED_PREFIX = '@TGS#';
const imSchema = imSchemas({
  groupTypes: [...GROUP_TYPES],
  nameBytes: MAX_NAME_BYTES,
  customGroupID: MAX_CUSTOM_GROUP_ID,
  membersPerRequest: IM_REST_MAX_MEMBERS_PER_REQUEST,
  groupsPerInfo: IM_REST_MAX_GROUPS_PER_INFO,
  accountsPerImport: IM_REST_MAX_ACCOUNTS_PER_IMPORT,
});

const groupIdRe = new RegExp(GROUP_ID_PATTERN);
const userIdRe = new RegExp(USER_ID_PATTERN);

export interface ImRestRoutesOptions {
  sdkAppID: number;
  secretKey: string;
  groups: GroupService;
  logger?: Logger;
}

type Json = Record<string, unknown>;

const ok = (extra: Json = {}): Json => ({
  ActionStatus: 'OK',
  ErrorInfo: '',
  ErrorCode: 0,
  ...extra,
});

const fail = (err: ImRestError): Json => ({
  ActionStatus: 'FAIL',
  ErrorInfo: err.message,
  ErrorCode: err.errorCode,
});

const invalid = (detail: string): ImRestError => new ImRestError(T.INVALID_PARAM, detail);

/** The IM REST routes as a Fastify plugin (encapsulated: parsers and error handler are its own). */
export async function imRestRoutes(app: FastifyInstance, options: ImRestRoutesOptions) {
  const { sdkAppID, secretKey, groups } = options;
  const log = options.logger ?? silentLogger;
  app.setValidatorCompiler(describeOnly);

  // Tencent reads the body as JSON whatever its Content-Type: its PHP sample posts with curl's
  // default form type, others with text/plain or none.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'string', bodyLimit: IM_REST_BODY_LIMIT },
    (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new ImRestError(T.JSON_PARSE, 'the request body is not valid JSON'), undefined);
      }
    },
  );

  app.setErrorHandler((err: Error & { code?: unknown }, _req, reply) => {
    let status = 200;
    let answer: ImRestError;
    if (err instanceof ImRestError) answer = err;
    else if (err instanceof ServerError) answer = fromServerError(err);
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      answer = invalid(`the request body exceeds ${IM_REST_BODY_LIMIT} bytes`);
    } else if (typeof err.code === 'string' && err.code.startsWith('FST_ERR_CTP_')) {
      answer = new ImRestError(T.JSON_PARSE, 'the request body is not valid JSON');
    } else {
      const storage = storageFailure(err);
      answer = new ImRestError(
        T.INTERNAL,
        storage === 'full' ? 'the server is out of disk space' : 'internal error; try again',
      );
      log.error('IM REST request failed', { err });
    }
    if (answer.errorCode === T.INTERNAL) void reply.header('retry-after', '5');
    void reply.code(status).send(fail(answer));
  });

  // Before the body is read: nobody without the key gets to make us parse anything.
  app.addHook('onRequest', async (req, reply) => {
    try {
      authenticate(req, sdkAppID, secretKey);
    } catch (err) {
      if (!(err instanceof ImRestError)) throw err;
      return reply.code(200).send(fail(err));
    }
  });

  const route = (name: string, summary: string, handler: (body: Json) => Promise<Json>) =>
    app.post(
      `${IM_REST_PREFIX}/${name}`,
      { bodyLimit: IM_REST_BODY_LIMIT, schema: imSchema(summary, name) },
      async (req) => handler(objectBody(req.body)),
    );

  route('create_group', 'Create a group', async (body) => {
    const type = body.Type;
    if (typeof type !== 'string' || !GROUP_TYPES.has(type)) {
      throw invalid(`Type must be one of ${[...GROUP_TYPES].join(', ')}`);
    }
    const name = body.Name;
    if (typeof name !== 'string') throw invalid('Name is required and must be a string');
    if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
      throw invalid(`Name must be at most ${MAX_NAME_BYTES} bytes of UTF-8`);
    }
    for (const key of ['Introduction', 'Notification', 'FaceUrl', 'ApplyJoinOption']) {
      if (body[key] !== undefined && typeof body[key] !== 'string') {
        throw invalid(`${key} must be a string`);
      }
    }
    if (body.MaxMemberCount !== undefined && !Number.isSafeInteger(body.MaxMemberCount)) {
      throw invalid('MaxMemberCount must be an integer');
    }
    const owner = optionalUserID(body.Owner_Account, 'Owner_Account');
    const listed =
      body.MemberList === undefined ? [] : memberAccounts(body.MemberList, 'MemberList', 0);
    if (type === 'AVChatRoom' && listed.length > 0) {
      throw new ImRestError(T.NO_PERMISSION, 'an AVChatRoom is created without members');
    }
    const members = owner === undefined ? listed : [owner, ...listed];

    if (body.GroupId !== undefined) {
      const groupID = customGroupID(body.GroupId);
      await groups.create({ groupID, name, members });
      log.info('group created (IM REST)', { groupID, members: members.length });
      return ok({ GroupId: groupID });
    }
    // Tencent assigns "@TGS#…" IDs; a collision of 50 random bits is retried, not reported.
    for (let attempt = 0; ; attempt++) {
      const groupID = ASSIGNED_PREFIX + randomID();
      try {
        await groups.create({ groupID, name, members });
        log.info('group created (IM REST)', { groupID, members: members.length });
        return ok({ GroupId: groupID });
      } catch (err) {
        if (attempt < 2 && err instanceof ServerError && err.name === 'GROUP_EXISTS') continue;
        throw err;
      }
    }
  });

  route('add_group_member', 'Add members', async (body) => {
    const groupID = requiredGroupID(body.GroupId);
    silence(body.Silence);
    const users = memberAccounts(body.MemberList, 'MemberList', 1);
    let result: { added: string[]; alreadyMembers: string[] };
    try {
      result = await groups.addMembers(groupID, users);
    } catch (err) {
      // IDs and list length were checked above, so an INVALID_FIELD here is the group's capacity.
      if (err instanceof ServerError && err.name === 'INVALID_FIELD') {
        throw new ImRestError(T.GROUP_FULL, `the group would exceed ${MAX_GROUP_MEMBERS} members`);
      }
      throw err;
    }
    log.info('group members added (IM REST)', { groupID, added: result.added.length });
    const added = new Set(result.added);
    return ok({
      MemberList: unique(users).map((u) => ({ Member_Account: u, Result: added.has(u) ? 1 : 2 })),
    });
  });

  route('delete_group_member', 'Remove members', async (body) => {
    const groupID = requiredGroupID(body.GroupId);
    silence(body.Silence);
    if (body.Reason !== undefined && typeof body.Reason !== 'string') {
      throw invalid('Reason must be a string');
    }
    const users = userIDList(body.MemberToDel_Account, 'MemberToDel_Account');
    const result = await groups.removeMembers(groupID, users);
    log.info('group members removed (IM REST)', { groupID, removed: result.removed.length });
    return ok();
  });

  route('destroy_group', 'Delete a group', async (body) => {
    const groupID = requiredGroupID(body.GroupId);
    await groups.delete(groupID);
    log.info('group destroyed (IM REST)', { groupID });
    return ok();
  });

  route('get_group_info', 'Groups with their members', async (body) => {
    const ids = body.GroupIdList;
    if (!Array.isArray(ids) || ids.length === 0) {
      throw invalid('GroupIdList must be a non-empty array of group IDs');
    }
    if (ids.length > IM_REST_MAX_GROUPS_PER_INFO) {
      throw invalid(`GroupIdList may name at most ${IM_REST_MAX_GROUPS_PER_INFO} groups`);
    }
    ids.forEach((id, i) => {
      if (typeof id !== 'string' || id.length === 0 || id.length > 128) {
        throw invalid(`GroupIdList[${i}] must be a group ID string`);
      }
    });
    const filter = responseFilter(body.ResponseFilter);
    const infos: Json[] = [];
    let listed = 0;
    for (const id of ids as string[]) {
      const group = groupIdRe.test(id) ? await findGroup(groups, id) : undefined;
      if (!group) {
        infos.push({ GroupId: id, ErrorCode: T.GROUP_NOT_FOUND, ErrorInfo: 'no such group' });
        continue;
      }
      if (filter.members) listed += group.members.length;
      if (listed > IM_REST_MAX_MEMBERS_PER_INFO) {
        throw new ImRestError(
          T.RESPONSE_TOO_LARGE,
          `the answer would list more than ${IM_REST_MAX_MEMBERS_PER_INFO} members; ask for fewer groups`,
        );
      }
      infos.push(groupInfo(group, filter));
    }
    return ok({ GroupInfo: infos });
  });

  // Tencent wants every account imported before it joins a group, so backends call these first.
  // Ringline has no account registry (a valid userSig is the account): the import succeeds for
  // every ID Ringline accepts, and lists the others in FailAccounts as Tencent does.
  app.post(
    `${IM_ACCOUNT_PREFIX}/account_import`,
    {
      bodyLimit: IM_REST_BODY_LIMIT,
      schema: imSchema('Import an account (accepted: Ringline keeps none)', 'account_import'),
    },
    async (req) => {
      const body = objectBody(req.body);
      // "Identifier" is the field's name in Tencent's older docs and SDKs.
      const id = body.UserID ?? body.Identifier;
      if (typeof id !== 'string' || !userIdRe.test(id)) {
        throw new ImRestError(T.ACCOUNT_PARAM, 'UserID is not a valid user ID');
      }
      for (const key of ['Nick', 'FaceUrl']) {
        if (body[key] !== undefined && typeof body[key] !== 'string') {
          throw new ImRestError(T.ACCOUNT_PARAM, `${key} must be a string`);
        }
      }
      return ok();
    },
  );
  app.post(
    `${IM_ACCOUNT_PREFIX}/multiaccount_import`,
    {
      bodyLimit: IM_REST_BODY_LIMIT,
      schema: imSchema('Import accounts (accepted: Ringline keeps none)', 'multiaccount_import'),
    },
    async (req) => {
      const accounts = objectBody(req.body).Accounts;
      if (!Array.isArray(accounts)) {
        throw new ImRestError(T.ACCOUNT_PARAM, 'Accounts must be an array of user IDs');
      }
      if (accounts.length === 0 || accounts.length > IM_REST_MAX_ACCOUNTS_PER_IMPORT) {
        throw new ImRestError(
          T.ACCOUNT_BATCH,
          `Accounts must list 1 to ${IM_REST_MAX_ACCOUNTS_PER_IMPORT} user IDs`,
        );
      }
      if (accounts.some((a) => typeof a !== 'string' || a.length > 128)) {
        throw new ImRestError(T.ACCOUNT_PARAM, 'Accounts must hold user ID strings');
      }
      return ok({ FailAccounts: (accounts as string[]).filter((a) => !userIdRe.test(a)) });
    },
  );

  // Any other command of the service: Tencent's "wrong command" answer, after authentication.
  app.post(
    `${IM_REST_PREFIX}/:command`,
    {
      bodyLimit: IM_REST_BODY_LIMIT,
      schema: {
        ...imSchema('Any other command: 10003'),
        params: Type.Object({ command: Type.String() }),
      },
    },
    async () => {
      throw new ImRestError(T.UNKNOWN_COMMAND, 'group_open_http_svc has no such command');
    },
  );
}

/** Checks the URL's credentials the way Tencent's REST gateway does; throws ImRestError. */
function authenticate(req: FastifyRequest, sdkAppID: number, secretKey: string): void {
  const query = req.query as Record<string, unknown>;
  const one = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined || typeof v === 'string') return v;
    throw new ImRestError(T.HTTP_PARSE, `the query parameter "${name}" is given more than once`);
  };
  const appText = one('sdkappid');
  const identifier = one('identifier');
  const sig = one('usersig');
  const random = one('random');
  const contentType = one('contenttype');
  if (random !== undefined && !(/^[0-9]{1,10}$/.test(random) && Number(random) <= 0xffffffff)) {
    throw new ImRestError(T.HTTP_PARSE, 'random must be an integer from 0 to 4294967295');
  }
  if (contentType !== undefined && contentType !== 'json') {
    throw new ImRestError(T.HTTP_PARSE, 'contenttype must be "json"');
  }
  if (appText === undefined || !/^[0-9]{1,10}$/.test(appText)) {
    throw new ImRestError(T.NO_SDKAPPID, 'the URL needs a numeric sdkappid');
  }
  if (Number(appText) !== sdkAppID) {
    throw new ImRestError(T.APP_NOT_FOUND, 'this server does not serve that SDKAppID');
  }
  if (identifier !== ADMIN_IDENTIFIER) {
    throw new ImRestError(
      T.NOT_ADMIN,
      `identifier must be the app administrator "${ADMIN_IDENTIFIER}"`,
    );
  }
  if (sig === undefined || sig === '') throw new ImRestError(T.USERSIG_EMPTY, 'usersig is empty');
  try {
    verifyUserSig(sig, { sdkAppID, secretKey, userID: ADMIN_IDENTIFIER });
  } catch (err) {
    // Fixed messages: the sig's own content is never echoed.
    if (!(err instanceof ServerError)) throw err;
    switch (err.name) {
      case 'USERSIG_EXPIRED':
        throw new ImRestError(T.USERSIG_EXPIRED, 'the usersig has expired');
      case 'USERSIG_WRONG_APP':
        throw new ImRestError(T.USERSIG_WRONG_APP, 'the usersig was made for another SDKAppID');
      case 'USERSIG_WRONG_USER':
        throw new ImRestError(T.USERSIG_WRONG_USER, 'the usersig was made for another user');
      default:
        // verifyUserSig says "signature does not match" once the sig decoded and only its HMAC
        // failed: Tencent's "wrong key" case, told apart from an undecodable sig.
        throw err.message.includes('signature does not match')
          ? new ImRestError(T.USERSIG_BAD_SIGNATURE, 'the usersig does not verify with this app')
          : new ImRestError(T.USERSIG_INVALID, 'the usersig cannot be decoded');
    }
  }
}

function objectBody(body: unknown): Json {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('the request body must be a JSON object');
  }
  return body as Json;
}

function requiredGroupID(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw invalid('GroupId is required');
  if (!groupIdRe.test(value)) {
    throw new ImRestError(T.INVALID_GROUP_ID, 'GroupId is not a valid group ID');
  }
  return value;
}

/** A GroupId the app chose: Tencent's rules (≤ 48 bytes, not "@TGS#…") and ours (pattern). */
function customGroupID(value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.length > MAX_CUSTOM_GROUP_ID ||
    value.startsWith(ASSIGNED_PREFIX) ||
    !groupIdRe.test(value)
  ) {
    throw new ImRestError(
      T.INVALID_GROUP_ID,
      `GroupId must be 1-${MAX_CUSTOM_GROUP_ID} letters, digits, "_", "-", "@", "#" or "." ` +
        `and not start with "${ASSIGNED_PREFIX}"`,
    );
  }
  return value;
}

function optionalUserID(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !userIdRe.test(value)) {
    throw invalid(`${field} is not a valid user ID (1-32 letters, digits, "-" or "_")`);
  }
  return value;
}

function silence(value: unknown): void {
  if (value !== undefined && value !== 0 && value !== 1) throw invalid('Silence must be 0 or 1');
}

/** `[{Member_Account, ...}]` as its user IDs (other member fields are type-checked, not kept). */
function memberAccounts(value: unknown, field: string, min: number): string[] {
  if (!Array.isArray(value)) throw invalid(`${field} must be an array`);
  checkLength(value, field, min);
  return value.map((m: unknown, i) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      throw invalid(`${field}[${i}] must be an object with Member_Account`);
    }
    const { Member_Account: account, Role: role } = m as Json;
    if (role !== undefined && typeof role !== 'string') throw invalid(`${field}[${i}].Role`);
    const id = optionalUserID(account, `${field}[${i}].Member_Account`);
    if (id === undefined) throw invalid(`${field}[${i}].Member_Account is required`);
    return id;
  });
}

function userIDList(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw invalid(`${field} must be an array of user IDs`);
  checkLength(value, field, 1);
  return value.map((u: unknown, i) => {
    const id = optionalUserID(u, `${field}[${i}]`);
    if (id === undefined) throw invalid(`${field}[${i}] must be a user ID`);
    return id;
  });
}

function checkLength(list: unknown[], field: string, min: number): void {
  if (list.length < min) throw invalid(`${field} must list at least ${min} member`);
  if (list.length > IM_REST_MAX_MEMBERS_PER_REQUEST) {
    throw invalid(`${field} may list at most ${IM_REST_MAX_MEMBERS_PER_REQUEST} members`);
  }
}

const unique = (list: string[]): string[] => [...new Set(list)];

/** 10 characters of [A-Z0-9] (~51 bits), like the tail of Tencent's "@TGS#2J4SZEAEL". */
function randomID(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...randomBytes(10)].map((b) => alphabet[b % alphabet.length]).join('');
}

// ---- get_group_info -------------------------------------------------------------------------

interface Filter {
  /** Base fields to answer with; undefined = all. */
  base: Set<string> | undefined;
  /** Member fields to answer with (Member_Account always); undefined = no MemberList. */
  members: Set<string> | undefined;
}

const BASE_FIELDS = [
  'Type',
  'Name',
  'Introduction',
  'Notification',
  'FaceUrl',
  'Owner_Account',
  'CreateTime',
  'InfoSeq',
  'LastInfoTime',
  'LastMsgTime',
  'NextMsgSeq',
  'MemberNum',
  'MaxMemberNum',
  'ApplyJoinOption',
  'ShutUpAllMember',
  'MuteAllMember',
];
const MEMBER_FIELDS = [
  'Role',
  'JoinTime',
  'MsgSeq',
  'MsgFlag',
  'LastSendMsgTime',
  'ShutUpUntil',
  'MuteUntil',
  'NameCard',
];

/** No ResponseFilter: everything (Tencent's default). With one: only what its lists name. */
function responseFilter(value: unknown): Filter {
  if (value === undefined) {
    return { base: new Set(BASE_FIELDS), members: new Set(MEMBER_FIELDS) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('ResponseFilter must be an object');
  }
  const names = (list: unknown, field: string): Set<string> | undefined => {
    if (list === undefined) return undefined;
    if (!Array.isArray(list) || list.length > 64 || list.some((x) => typeof x !== 'string')) {
      throw invalid(`ResponseFilter.${field} must be an array of at most 64 field names`);
    }
    return new Set(list as string[]);
  };
  const f = value as Json;
  for (const key of ['AppDefinedDataFilter_Group', 'AppDefinedDataFilter_GroupMember']) {
    names(f[key], key);
  }
  return {
    base: names(f.GroupBaseInfoFilter, 'GroupBaseInfoFilter') ?? new Set(),
    members: names(f.MemberInfoFilter, 'MemberInfoFilter'),
  };
}

/** The group with its members, or undefined if there is none. */
async function findGroup(groups: GroupService, groupID: string): Promise<GroupDetails | undefined> {
  try {
    return await groups.show(groupID);
  } catch (err) {
    if (err instanceof ServerError && err.name === 'GROUP_NOT_FOUND') return undefined;
    throw err;
  }
}

function groupInfo(group: GroupDetails, filter: Filter): Json {
  const created = Math.floor(group.createdAt / 1000);
  // Ringline keeps only ID, name, creation time and members; the rest are Tencent's defaults.
  const base: Json = {
    Type: 'Public',
    Name: group.name,
    Introduction: '',
    Notification: '',
    FaceUrl: '',
    Owner_Account: '',
    CreateTime: created,
    InfoSeq: 1,
    LastInfoTime: created,
    LastMsgTime: 0,
    NextMsgSeq: 1,
    MemberNum: group.members.length,
    MaxMemberNum: MAX_GROUP_MEMBERS,
    ApplyJoinOption: 'DisableApply',
    // Tencent's newer docs call these two MuteAllMember / MuteUntil; both names are answered.
    ShutUpAllMember: 'Off',
    MuteAllMember: 'Off',
  };
  const info: Json = { GroupId: group.groupID };
  for (const key of BASE_FIELDS) if (!filter.base || filter.base.has(key)) info[key] = base[key];
  const wanted = filter.members;
  if (wanted) {
    info.MemberList = group.members.map((m) => {
      const all: Json = {
        Role: 'Member',
        JoinTime: Math.floor(m.joinedAt / 1000),
        MsgSeq: 0,
        MsgFlag: 'AcceptAndNotify',
        LastSendMsgTime: 0,
        ShutUpUntil: 0,
        MuteUntil: 0,
        NameCard: '',
      };
      const member: Json = { Member_Account: m.userID };
      for (const key of MEMBER_FIELDS) if (wanted.has(key)) member[key] = all[key];
      return member;
    });
  }
  info.ErrorCode = 0;
  info.ErrorInfo = '';
  return info;
}
