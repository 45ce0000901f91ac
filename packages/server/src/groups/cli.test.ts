import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createServer } from 'node:net';
import { main } from '../cli.js';
import { openStore } from '../store/store.js';
import { startTestServer, type TestServer } from '../testing/server.js';
import { GroupService } from './service.js';

/** Runs the real CLI in-process, capturing its output. */
async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
  });
  return { code, stdout, stderr };
}

let server: TestServer;
let dataDir: string;
/** A dev-mode server keeps its key pair in dataDir/app.json; the CLI reads it from there. */
let target: string[];
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ringline-group-cli-'));
  server = await startTestServer({ dev: true, dataDir });
  target = ['--server', server.url, '--data-dir', dataDir];
});
afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Deletes every group, so each test starts from none. */
beforeEach(async () => {
  const listed = await run(['group', 'list', '--json', ...target]);
  for (const g of (JSON.parse(listed.stdout) as { groups: { groupID: string }[] }).groups) {
    expect((await run(['group', 'delete', g.groupID, ...target])).code).toBe(0);
  }
});

async function show(groupID: string) {
  const r = await run(['group', 'show', groupID, '--json', ...target]);
  return r.code === 0
    ? (JSON.parse(r.stdout) as { name: string; members: { userID: string }[] })
    : undefined;
}

describe('ringline group against a running server', () => {
  test('create, add, remove, show, list, delete', async () => {
    const created = await run([
      'group',
      'create',
      'team',
      'alice',
      'bob',
      '--name',
      'The team',
      ...target,
    ]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toBe('created group team with 2 members\n');

    const added = await run(['group', 'add', 'team', 'carol', 'alice', ...target]);
    expect(added.stdout).toBe('added 1 member to team (already members: alice)\n');

    const removed = await run(['group', 'remove', 'team', 'bob', 'zed', ...target]);
    expect(removed.stdout).toBe('removed 1 member from team (not members: zed)\n');

    const shown = await run(['group', 'show', 'team', ...target]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^group team \(The team\), created \d{4}-.*Z, 2 members\n/);
    expect(shown.stdout).toMatch(/\n {2}alice +joined .*\n {2}carol +joined .*\n$/);

    await run(['group', 'create', 'ops', ...target]);
    const listed = await run(['group', 'list', ...target]);
    expect(listed.stdout).toBe(
      'GROUP ID  MEMBERS  NAME\n' + 'ops             0  \n' + 'team            2  The team\n',
    );

    const deleted = await run(['group', 'delete', 'team', ...target]);
    expect(deleted).toMatchObject({ code: 0, stdout: 'deleted group team\n' });
    expect(await show('team')).toBeUndefined();
  });

  test('--json prints the server answer', async () => {
    const r = await run(['group', 'create', 'j', 'alice', '--json', ...target]);
    expect(JSON.parse(r.stdout)).toMatchObject({ groupID: 'j', members: [{ userID: 'alice' }] });
  });

  test('a group ID with @, # and . goes through the URL intact', async () => {
    expect((await run(['group', 'create', 'a@b#c.d', 'alice', ...target])).code).toBe(0);
    expect((await run(['group', 'add', 'a@b#c.d', 'bob', ...target])).code).toBe(0);
    expect((await show('a@b#c.d'))?.members.map((m) => m.userID)).toEqual(['alice', 'bob']);
  });

  test('the app pair and server can come from flags or the environment', async () => {
    const flags = ['--sdkappid', String(server.sdkAppID), '--secret-key', server.secretKey];
    expect(
      (await run(['group', 'create', 'viaflags', '--server', server.url, ...flags])).code,
    ).toBe(0);
    const env = {
      RINGLINE_SERVER: server.url,
      RINGLINE_SDKAPPID: String(server.sdkAppID),
      RINGLINE_SECRET_KEY: server.secretKey,
    };
    const r = await run(['group', 'show', 'viaflags'], env);
    expect(r.code).toBe(0);
    expect(
      (
        await run(['group', 'show', 'viaflags'], {
          RINGLINE_SERVER: server.url,
          RINGLINE_DATA_DIR: dataDir,
        })
      ).code,
    ).toBe(0);
  });
});

describe('ringline group list', () => {
  test('pages through more groups than one page holds', async () => {
    const own = mkdtempSync(join(tmpdir(), 'ringline-group-cli-list-'));
    const big = await startTestServer({ dev: true, dataDir: own });
    try {
      const ids = Array.from({ length: 1005 }, (_, i) => `g${String(i).padStart(4, '0')}`);
      // Made through a second connection to the server's database file (the API would take
      // seconds for this many): the server must see them all the same.
      const store = await openStore({ dataDir: own });
      try {
        const groups = new GroupService(store.db);
        for (const groupID of ids) await groups.create({ groupID });
      } finally {
        await store.close();
      }
      const r = await run(['group', 'list', '--json', '--server', big.url, '--data-dir', own]);
      expect(r.code).toBe(0);
      const listed = JSON.parse(r.stdout) as { groups: { groupID: string }[] };
      expect(listed.groups.map((g) => g.groupID)).toEqual(ids);
    } finally {
      await big.close();
      rmSync(own, { recursive: true, force: true });
    }
  });
});

describe('ringline group failures', () => {
  test.each([
    [['group', 'show', 'nope'], /^ringline: GROUP_NOT_FOUND \(40402\): no group "nope"\n$/],
    [['group', 'delete', 'nope'], /GROUP_NOT_FOUND/],
    [['group', 'add', 'nope', 'alice'], /GROUP_NOT_FOUND/],
  ])('%j exits 1 with the server error', async (argv, message) => {
    const r = await run([...argv, ...target]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });

  test('creating an existing group exits 1 with GROUP_EXISTS', async () => {
    await run(['group', 'create', 'dup', ...target]);
    const r = await run(['group', 'create', 'dup', ...target]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('ringline: GROUP_EXISTS (40903): group "dup" already exists\n');
  });

  test('a group that would exceed 10,000 members exits 1 and names the limit', async () => {
    await run(['group', 'create', 'full', ...target]);
    const users = Array.from({ length: 10_001 }, (_, i) => `u${i}`);
    const r = await run(['group', 'add', 'full', ...users, ...target]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/INVALID_FIELD .*a group holds at most 10000/);
  });

  test('the wrong secret key exits 1 with ADMIN_UNAUTHORIZED and changes nothing', async () => {
    const r = await run([
      'group',
      'create',
      'evil',
      '--server',
      server.url,
      '--sdkappid',
      String(server.sdkAppID),
      '--secret-key',
      'wrong',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ADMIN_UNAUTHORIZED \(40304\): .*signature does not match/);
    expect(await show('evil')).toBeUndefined();
  });

  test('the wrong SDKAppID exits 1 with ADMIN_UNAUTHORIZED', async () => {
    const r = await run([
      'group',
      'list',
      '--server',
      server.url,
      '--sdkappid',
      '99',
      '--secret-key',
      server.secretKey,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ADMIN_UNAUTHORIZED.*SDKAppID 99/);
  });

  test('a server that is not there exits 1 saying so', async () => {
    const port = await freedPort();
    const r = await run([
      'group',
      'list',
      '--server',
      `http://127.0.0.1:${port}`,
      '--data-dir',
      dataDir,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `cannot reach the server at http://127.0.0.1:${port}: ECONNREFUSED.*ringline serve`,
      ),
    );
  });

  test.each([
    [['group'], /Usage: ringline group/],
    [['group', 'frobnicate', 'x'], /unknown command 'frobnicate'/],
    [['group', 'show'], /group show needs a GROUP_ID/],
    [['group', 'show', 'bad id'], /"bad id" is not a valid group ID/],
    [['group', 'show', 'a', 'b'], /unexpected "b"/],
    [['group', 'add', 'g'], /needs at least one USER/],
    [['group', 'add', 'g', 'b@d'], /"b@d" is not a valid user ID/],
    [['group', 'add', 'g', 'a', '--name', 'n'], /unknown option '--name'/],
    [['group', 'list', '--bogus'], /unknown option '--bogus'/],
    [['group', 'list', '--server', 'ftp://x'], /--server must be an http: or https: URL/],
    [['group', 'list', '--server', 'nope'], /--server must be a URL/],
    [['group', 'list', '--sdkappid', '5'], /give both --sdkappid and --secret-key/],
    [
      ['group', 'list', '--sdkappid', 'x', '--secret-key', 'k'],
      /--sdkappid must be a positive integer/,
    ],
    [
      ['group', 'list', '--data-dir', '/nonexistent-ringline'],
      /no app credentials: .*app\.json: it does not exist/,
    ],
  ])('%j exits 2 with a usage message', async (argv, message, stream = 'stderr') => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(stream === 'stdout' ? r.stdout : r.stderr).toMatch(message);
  });

  test('group --help prints the help and exits 0', async () => {
    const r = await run(['group', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ringline group create GROUP_ID/);
  });
});

/** A loopback port that was just free: nothing listens on it, so connecting is refused. */
async function freedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
