/**
 * `ringline group …`: manage groups on a running server through its REST admin API. The CLI holds
 * the app's secret key, mints a short-lived administrator userSig per run, and sends it as a
 * Bearer token (so it never lands in a URL or an access log).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { USER_ID_PATTERN } from '@ringline/protocol';
import { genUserSig } from '../auth/usersig.js';
import { ConfigError, DEFAULTS } from '../config.js';
import type { GroupDetails, GroupSummary } from './service.js';
import { isValidGroupID } from './service.js';

/** What `ringline group --help` adds after the commands. */
const GROUP_NOTES = `
Examples:
  ringline group create GROUP_ID [USER...] [--name NAME]
  ringline group add team carol dave --server https://calls.example.org
  ringline group list --json

Group IDs: 1-64 letters, digits, "_", "-", "@", "#" or ".". User IDs: 1-32 letters, digits, "_", "-".
Exit codes: 0 ok, 1 the server refused or could not be reached, 2 bad usage or configuration.`;

/** Lifetime of the administrator userSig a CLI run mints. */
const ADMIN_SIG_EXPIRE_S = 300;
/** How long one request may take before the CLI gives up. */
const REQUEST_TIMEOUT_MS = 15_000;

/** A group subcommand's flags as commander names them. */
interface GroupFlags {
  server?: string;
  sdkappid?: string;
  secretKey?: string;
  dataDir?: string;
  name?: string;
  json?: boolean;
}

const userIdRe = new RegExp(USER_ID_PATTERN);

export interface GroupCliIO {
  stdout: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

/** A refusal from the server or a failure to reach it: the CLI prints it and exits 1. */
export class GroupCliError extends Error {
  override readonly name = 'GroupCliError';
}

/**
 * Adds `ringline group` and its subcommands to the program. A refusal by the server throws
 * GroupCliError (exit 1); bad usage throws ConfigError (exit 2).
 */
export function addGroupCommand(program: Command, io: GroupCliIO): void {
  const group = program
    .command('group')
    .description('manage groups on a running Ringline server (REST admin API)')
    .addHelpText('after', GROUP_NOTES);
  const subcommands: [name: string, operands: string[], description: string][] = [
    ['create', ['[GROUP_ID]', '[USER...]'], 'create a group, with these members'],
    ['delete', ['[GROUP_ID]'], 'delete a group'],
    ['add', ['[GROUP_ID]', '[USER...]'], 'add members to a group'],
    ['remove', ['[GROUP_ID]', '[USER...]'], 'remove members from a group'],
    ['list', [], 'list the groups'],
    ['show', ['[GROUP_ID]'], 'show a group and its members'],
  ];
  for (const [name, operands, description] of subcommands) {
    const cmd = group.command(name).description(description);
    // The operands are checked by plan(), whose messages say what is wrong with them.
    for (const operand of operands) cmd.argument(operand);
    cmd
      .allowExcessArguments()
      .option('--server <URL>', `the server (RINGLINE_SERVER; http://127.0.0.1:${DEFAULTS.port})`)
      .option('--sdkappid <N>', "the app's SDKAppID (RINGLINE_SDKAPPID)")
      .option('--secret-key <KEY>', "the app's secret key (RINGLINE_SECRET_KEY)")
      .option(
        '--data-dir <DIR>',
        'without --sdkappid/--secret-key, read them from DIR/app.json, as a dev-mode server ' +
          `keeps them (RINGLINE_DATA_DIR; ${DEFAULTS.dataDir})`,
      )
      .option('--json', "print the server's JSON answer instead of text");
    if (name === 'create') cmd.option('--name <NAME>', "the group's display name");
    cmd.action(async () => {
      await groupCommand(name, cmd.args, cmd.opts<GroupFlags>(), io);
    });
  }
}

/** Runs `ringline group <action> <operands>`; resolves with the exit code. */
async function groupCommand(
  action: string,
  operands: string[],
  values: GroupFlags,
  io: GroupCliIO,
): Promise<number> {
  const pick = (flag: 'server' | 'sdkappid' | 'secretKey' | 'dataDir', envName: string) => {
    const v = values[flag];
    if (typeof v === 'string') return v;
    const e = io.env[envName];
    return e === undefined || e === '' ? undefined : e;
  };

  const request = plan(action, operands, values.name);
  const server = parseServer(
    pick('server', 'RINGLINE_SERVER') ?? `http://127.0.0.1:${DEFAULTS.port}`,
  );
  const creds = await credentials(
    pick('sdkappid', 'RINGLINE_SDKAPPID'),
    pick('secretKey', 'RINGLINE_SECRET_KEY'),
    pick('dataDir', 'RINGLINE_DATA_DIR') ?? DEFAULTS.dataDir,
  );
  const sig = genUserSig({ ...creds, userID: 'administrator', expire: ADMIN_SIG_EXPIRE_S });
  const send = (method: string, path: string, body?: unknown) =>
    fetchJson(server, method, path, sig, body);

  const json = values.json === true;
  const print = (value: unknown, text: string) =>
    io.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text);

  switch (request.action) {
    case 'create': {
      const body: Record<string, unknown> = { groupID: request.groupID, members: request.users };
      if (request.name !== undefined) body.name = request.name;
      const group = (await send('POST', '/api/admin/groups', body)) as GroupDetails;
      print(
        group,
        `created group ${group.groupID} with ${count(group.members.length, 'member')}\n`,
      );
      return 0;
    }
    case 'delete':
      await send('DELETE', groupPath(request.groupID));
      print({ groupID: request.groupID, deleted: true }, `deleted group ${request.groupID}\n`);
      return 0;
    case 'add': {
      const r = (await send('POST', `${groupPath(request.groupID)}/members`, {
        userIDList: request.users,
      })) as { added: string[]; alreadyMembers: string[] };
      print(
        r,
        `added ${count(r.added.length, 'member')} to ${request.groupID}` +
          (r.alreadyMembers.length ? ` (already members: ${r.alreadyMembers.join(', ')})` : '') +
          '\n',
      );
      return 0;
    }
    case 'remove': {
      const r = (await send('DELETE', `${groupPath(request.groupID)}/members`, {
        userIDList: request.users,
      })) as { removed: string[]; notMembers: string[] };
      print(
        r,
        `removed ${count(r.removed.length, 'member')} from ${request.groupID}` +
          (r.notMembers.length ? ` (not members: ${r.notMembers.join(', ')})` : '') +
          '\n',
      );
      return 0;
    }
    case 'list': {
      const all: GroupSummary[] = [];
      let after: string | undefined;
      do {
        const q = `?limit=1000${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`;
        const page = (await send('GET', `/api/admin/groups${q}`)) as {
          groups: GroupSummary[];
          next?: string;
        };
        all.push(...page.groups);
        after = page.next;
      } while (after !== undefined);
      const width = Math.max(8, ...all.map((g) => g.groupID.length));
      const text =
        all.length === 0
          ? 'no groups\n'
          : `${'GROUP ID'.padEnd(width)}  MEMBERS  NAME\n` +
            all
              .map(
                (g) =>
                  `${g.groupID.padEnd(width)}  ${String(g.memberCount).padStart(7)}  ${g.name}\n`,
              )
              .join('');
      print({ groups: all }, text);
      return 0;
    }
    case 'show': {
      const g = (await send('GET', groupPath(request.groupID))) as GroupDetails;
      print(
        g,
        `group ${g.groupID}${g.name ? ` (${g.name})` : ''}, created ${iso(g.createdAt)}, ` +
          `${count(g.members.length, 'member')}\n` +
          g.members.map((m) => `  ${m.userID.padEnd(32)}  joined ${iso(m.joinedAt)}\n`).join(''),
      );
      return 0;
    }
  }
}

type Plan =
  | { action: 'create'; groupID: string; users: string[]; name?: string | undefined }
  | { action: 'delete' | 'show'; groupID: string }
  | { action: 'add' | 'remove'; groupID: string; users: string[] }
  | { action: 'list' };

/** Checks the action and its operands before anything is sent. */
function plan(action: string, operands: string[], name: string | undefined): Plan {
  const groupID = (): string => {
    const id = operands[0];
    if (id === undefined) throw new ConfigError(`group ${action} needs a GROUP_ID`);
    if (!isValidGroupID(id)) {
      throw new ConfigError(
        `"${id}" is not a valid group ID (1-64 letters, digits, "_", "-", "@", "#" or ".")`,
      );
    }
    return id;
  };
  const users = (atLeastOne: boolean): string[] => {
    const list = operands.slice(1);
    if (atLeastOne && list.length === 0) {
      throw new ConfigError(`group ${action} needs at least one USER after the GROUP_ID`);
    }
    for (const u of list) {
      if (!userIdRe.test(u)) {
        throw new ConfigError(`"${u}" is not a valid user ID (1-32 letters, digits, "-" or "_")`);
      }
    }
    return list;
  };
  const noMore = (n: number) => {
    if (operands.length > n) {
      throw new ConfigError(`group ${action}: unexpected "${operands[n]}" (try --help)`);
    }
  };
  switch (action) {
    case 'create':
      return { action, groupID: groupID(), users: users(false), name };
    case 'delete':
    case 'show':
      noMore(1);
      return { action, groupID: groupID() };
    case 'add':
    case 'remove':
      return { action, groupID: groupID(), users: users(true) };
    case 'list':
      noMore(0);
      return { action };
    default:
      throw new ConfigError(
        `unknown group command "${action}" (create, delete, add, remove, list, show)`,
      );
  }
}

function parseServer(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`--server must be a URL like http://127.0.0.1:8080, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`--server must be an http: or https: URL, got "${text}"`);
  }
  return url;
}

/** The given pair, or a dev-mode server's app.json. Never makes a pair. */
async function credentials(
  sdkappid: string | undefined,
  secretKey: string | undefined,
  dataDir: string,
): Promise<{ sdkAppID: number; secretKey: string }> {
  if (sdkappid !== undefined || secretKey !== undefined) {
    if (sdkappid === undefined || secretKey === undefined) {
      throw new ConfigError(
        'give both --sdkappid and --secret-key, or neither (to use --data-dir)',
      );
    }
    const sdkAppID = Number(sdkappid);
    if (!/^\d+$/.test(sdkappid) || !Number.isSafeInteger(sdkAppID) || sdkAppID < 1) {
      throw new ConfigError(`--sdkappid must be a positive integer, got "${sdkappid}"`);
    }
    return { sdkAppID, secretKey };
  }
  const file = join(dataDir, 'app.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message;
    throw new ConfigError(
      `no app credentials: pass --sdkappid and --secret-key (or RINGLINE_SDKAPPID and ` +
        `RINGLINE_SECRET_KEY), or --data-dir of a dev-mode server; cannot read ${file}: ${why}`,
    );
  }
  let app: unknown;
  try {
    app = JSON.parse(text);
  } catch {
    throw new ConfigError(`${file} is not valid JSON`);
  }
  const { sdkAppID, secretKey: key } = (app ?? {}) as Record<string, unknown>;
  if (!Number.isSafeInteger(sdkAppID) || typeof key !== 'string' || !key) {
    throw new ConfigError(`${file} lacks sdkAppID/secretKey`);
  }
  return { sdkAppID: sdkAppID as number, secretKey: key };
}

const groupPath = (groupID: string) => `/api/admin/groups/${encodeURIComponent(groupID)}`;

/** One admin request; resolves with the parsed answer, throws GroupCliError saying what failed. */
async function fetchJson(
  server: URL,
  method: string,
  path: string,
  sig: string,
  body?: unknown,
): Promise<unknown> {
  const url = new URL(path, server);
  const headers: Record<string, string> = { authorization: `Bearer ${sig}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (e as Error).name === 'TimeoutError'
        ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
        : (cause?.code ?? cause?.message ?? (e as Error).message);
    throw new GroupCliError(
      `cannot reach the server at ${server.origin}: ${why} (is "ringline serve" running? set --server)`,
    );
  }
  const text = await res.text();
  let value: unknown;
  try {
    value = text ? JSON.parse(text) : undefined;
  } catch {
    throw new GroupCliError(`${method} ${url.pathname}: HTTP ${res.status} with a non-JSON answer`);
  }
  if (!res.ok) {
    const err = (
      value as { error?: { code?: number; name?: string; message?: string } } | undefined
    )?.error;
    if (err?.name === 'NOT_FOUND') {
      throw new GroupCliError(
        `${server.origin} has no admin API (${err.message}); is it a Ringline server of this version?`,
      );
    }
    throw new GroupCliError(
      err
        ? `${err.name} (${err.code}): ${err.message}`
        : `${method} ${url.pathname}: HTTP ${res.status}`,
    );
  }
  return value;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const iso = (ms: number) => new Date(ms).toISOString();
