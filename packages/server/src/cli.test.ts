import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { CallType, PROTOCOL_VERSION } from '@ringline/protocol';
import { verifyUserSig } from './auth/usersig.js';
import { main } from './cli.js';
import { TestClient } from './testing/client.js';
import { freePort } from './testing/postgres.js';

/** Runs the CLI in-process, capturing its output. */
async function run(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
  extra: { signal?: AbortSignal; now?: AbortSignal; onListening?: (url: string) => void } = {},
) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
    ...extra,
  });
  return { code, stdout, stderr };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('ringline usersig', () => {
  test('prints a userSig that verifies', async () => {
    const { code, stdout } = await run([
      'usersig',
      '--sdkappid',
      '1400000001',
      '--secret-key',
      'sekrit',
      '--user',
      'alice',
    ]);
    expect(code).toBe(0);
    const sig = stdout.trim();
    const claims = verifyUserSig(sig, {
      sdkAppID: 1400000001,
      secretKey: 'sekrit',
      userID: 'alice',
    });
    expect(claims.expire).toBe(86400 * 180);
  });

  test('honours --expire', async () => {
    const { stdout } = await run([
      'usersig',
      '--sdkappid',
      '7',
      '--secret-key',
      'k',
      '--user',
      'bob',
      '--expire',
      '60',
    ]);
    expect(
      verifyUserSig(stdout.trim(), { sdkAppID: 7, secretKey: 'k', userID: 'bob' }).expire,
    ).toBe(60);
  });

  test.each([
    [['usersig', '--sdkappid', '7', '--user', 'bob'], /needs --sdkappid, --secret-key and --user/],
    [
      ['usersig', '--sdkappid', 'x', '--secret-key', 'k', '--user', 'bob'],
      /--sdkappid must be a positive integer/,
    ],
    [['usersig', '--sdkappid', '7', '--secret-key', 'k', '--user', 'b b'], /not a valid user ID/],
    [
      ['usersig', '--sdkappid', '7', '--secret-key', 'k', '--user', 'b', '--expire', '0'],
      /--expire/,
    ],
    [['usersig', '--bogus'], /unknown option '--bogus'/],
  ])('%j exits 2 with a message', async (argv, message) => {
    const { code, stdout, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
  });
});

describe('ringline serve', () => {
  test('with bad --ice-servers exits 2 with a message', async () => {
    const { code, stderr } = await run([
      'serve',
      '--dev',
      '--port',
      '0',
      '--ice-servers',
      '[{"urls":"http://nope"}]',
    ]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--ice-servers: \[0\]\.urls: "http:\/\/nope" is not a stun:/);
  });

  test('with malformed RINGLINE_ICE_SERVERS exits 2 with a message naming the variable', async () => {
    const { code, stderr } = await run(['serve', '--dev'], { RINGLINE_ICE_SERVERS: 'not json' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/RINGLINE_ICE_SERVERS is not valid JSON/);
  });

  test('with the relay policy and no TURN exits 2 saying what is missing', async () => {
    const { code, stderr } = await run(['serve', '--dev', '--ice-transport-policy', 'relay']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/no TURN server is configured/);
  });

  test('with --turn URLs and no --turn-secret exits 2', async () => {
    const { code, stderr } = await run(['serve', '--dev', '--turn', 'turn:turn.example.org:3478']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--turn-secret/);
  });

  test('with an unknown flag exits 2, suggesting the flag it resembles', async () => {
    const { code, stderr } = await run(['serve', '--prot', '80']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown option '--prot'\n\(Did you mean --port\?\)/);
  });

  test('with a --database that is not a Postgres URL exits 2, hiding its password', async () => {
    const { code, stderr } = await run(['serve', '--dev', '--database', 'mysql://u:pw@db/x']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--database must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(stderr).not.toContain(':pw@');
  });

  test('with an unreachable --database exits 1 saying where, without the password', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ringline-cli-'));
    dirs.push(dataDir);
    const port = await freePort();
    const { code, stderr } = await run([
      'serve',
      '--dev',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--database',
      `postgres://ringline:s3cret@127.0.0.1:${port}/calls`,
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot open postgres://ringline@127.0.0.1:${port}/calls`);
    expect(stderr).toMatch(/ECONNREFUSED/);
    expect(stderr).not.toContain('s3cret');
  });

  test('without credentials outside dev mode refuses to start (exit 2)', async () => {
    const { code, stderr } = await run(['serve', '--port', '0']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/no app credentials/);
  });

  test('--dev serves, prints the URL and the app pair, and stops cleanly when told', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ringline-cli-'));
    dirs.push(dataDir);
    const stop = new AbortController();
    let listening!: (url: string) => void;
    const url = new Promise<string>((resolve) => (listening = resolve));
    const done = run(
      ['serve', '--dev', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir],
      {},
      {
        signal: stop.signal,
        onListening: listening,
      },
    );
    const base = await url;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
    expect((await fetch(`${base}/api/dev/usersig?userID=alice`)).status).toBe(200);
    stop.abort();
    const { code, stdout } = await done;
    expect(code).toBe(0);
    expect(stdout).toContain(`listening on ${base}`);
    expect(stdout).toMatch(/SDKAppID:\s+14\d{8}/);
    expect(stdout).toMatch(/SecretKey:\s+[0-9a-f]{64}/);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});

describe('ringline --help', () => {
  test('prints usage and exits 0', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: ringline/);
    for (const command of ['serve', 'usersig', 'group']) expect(top.stdout).toContain(command);
    const { code, stdout } = await run(['serve', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: ringline serve/);
    expect(stdout).toMatch(/--ice-servers/);
    for (const flag of [
      '--turn ',
      '--turn-secret',
      '--turn-ttl',
      '--public-ip',
      '--ice-transport-policy',
    ]) {
      expect(stdout).toContain(flag);
    }
  });

  test('an unknown command exits 2', async () => {
    const { code, stderr } = await run(['launch']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown command 'launch'/);
  });

  test('a mistyped command exits 2 suggesting the right one', async () => {
    const { code, stdout, stderr } = await run(['sevre', '--dev']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/unknown command 'sevre'\n\(Did you mean serve\?\)/);
  });

  test.each([
    [['serve', '--help'], /Usage: ringline serve .*--config <FILE>.*--drain-timeout <SECONDS>/s],
    [['usersig', '--help'], /Usage: ringline usersig .*--secret-key <KEY>.*--expire <SECONDS>/s],
    [['group', '--help'], /Usage: ringline group .*create .*list .*show/s],
    [['group', 'add', '--help'], /Usage: ringline group add .*--server <URL>/s],
    [['help', 'usersig'], /Usage: ringline usersig/],
  ])("%j prints the command's help and exits 0", async (argv, help) => {
    const { code, stdout, stderr } = await run(argv);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(help);
  });

  test("--version prints the server package's version", async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const { code, stdout } = await run(['--version']);
    expect(code).toBe(0);
    expect(stdout).toBe(`${pkg.version}\n`);
  });
});

describe('ringline serve --config', () => {
  test('with a bad value in the file exits 2 naming the file and the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringline-cli-'));
    dirs.push(dir);
    const file = join(dir, 'ringline.yaml');
    writeFileSync(file, 'dev: true\nport: 0\nmulti-device: sometimes\n');
    const { code, stderr } = await run(['serve', '--config', file]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      `ringline: ${file}: multi-device: must be kick or ring-all, got "sometimes"\n`,
    );
    const env = await run(['serve', '--config', file], { RINGLINE_MULTI_DEVICE: 'ring-some' });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/^ringline: RINGLINE_MULTI_DEVICE must be kick or ring-all/);
    const mistyped = await run(['serve', '--config', file, '--drain-timout', '5']);
    expect(mistyped.code).toBe(2);
    expect(mistyped.stderr).toMatch(
      /unknown option '--drain-timout'\n\(Did you mean --drain-timeout\?\)/,
    );
  });
});

describe('ringline serve stopping', () => {
  test('drains on the first signal (a call holds it); the second cuts the drain short', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ringline-cli-'));
    dirs.push(dataDir);
    const stop = new AbortController();
    const now = new AbortController();
    let listening!: (url: string) => void;
    const url = new Promise<string>((resolve) => (listening = resolve));
    const argv = ['serve', '--dev', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir];
    const done = run(
      [...argv, '--state', 'memory'],
      {},
      {
        signal: stop.signal,
        now: now.signal,
        onListening: listening,
      },
    );
    const base = await url;
    const login = async (userID: string) => {
      const dev = (await (await fetch(`${base}/api/dev/usersig?userID=${userID}`)).json()) as {
        sdkAppID: number;
        userSig: string;
      };
      const client = await TestClient.connect(base);
      await client.call('login', { ...dev, userID, protocol: PROTOCOL_VERSION });
      return client;
    };
    const [alice, bob] = [await login('alice'), await login('bob')];
    try {
      const { inviteID, callID } = await alice.call('invite', {
        userIDList: ['bob'],
        callType: CallType.AUDIO,
      });
      await bob.waitForPush('invited');
      await bob.call('accept', { inviteID });

      stop.abort();
      let stopped = false;
      void done.then(() => (stopped = true));
      // Draining (30 s by default): the node takes nobody new, and the call goes on.
      for (let i = 0; i < 100 && (await fetch(`${base}/readyz`)).status !== 503; i++);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      await alice.call('signal', { callID, to: 'bob', data: { candidate: { candidate: 'c' } } });
      await bob.waitForPush('signal');
      expect(stopped).toBe(false);

      now.abort();
      expect((await done).code).toBe(0);
      expect(await bob.closed()).toMatchObject({ code: 1001 });
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });
});
