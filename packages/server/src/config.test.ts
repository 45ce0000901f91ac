import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ConfigError, parseIceServers, parseServeArgs, resolveCredentials } from './config.js';
import { startServer } from './server.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ringline-config-'));
  dirs.push(d);
  return d;
}

describe('parseServeArgs', () => {
  test('has the documented defaults', () => {
    expect(parseServeArgs([], {})).toEqual({
      help: false,
      port: 8080,
      host: '0.0.0.0',
      dataDir: './.ringline',
      logLevel: 'info',
      inviteTimeout: 30,
      maxRingTime: 60,
      maxInvitationsPerCall: 100,
      iceServers: [],
      dev: false,
      janus: 'auto',
      p2p: true,
      apiDocs: true,
      sfuHealTimeout: 20,
      drainTimeoutMs: 30_000,
      httpTimeouts: { request: 30, headers: 10, keepAlive: 5, idle: 60 },
    });
  });

  test('reads every RINGLINE_* variable', () => {
    const env = {
      RINGLINE_PORT: '9000',
      RINGLINE_HOST: '127.0.0.1',
      RINGLINE_SDKAPPID: '1400000001',
      RINGLINE_SECRET_KEY: 'k',
      RINGLINE_DATA_DIR: '/var/lib/ringline',
      RINGLINE_DATABASE: 'postgres://ringline:pw@db:5432/ringline?pool_size=20',
      RINGLINE_NODE_ID: 'node-1',
      RINGLINE_INVITE_TIMEOUT: '45',
      RINGLINE_MAX_RING_TIME: '90',
      RINGLINE_MAX_INVITATIONS_PER_CALL: '20',
      RINGLINE_ICE_SERVERS: '[{"urls":"stun:stun.example.org:3478"}]',
      RINGLINE_DEV: 'true',
      RINGLINE_JANUS: 'ws://127.0.0.1:8188',
      RINGLINE_JANUS_INTERFACE: 'rl0',
      RINGLINE_P2P: 'off',
      RINGLINE_API_DOCS: 'off',
      RINGLINE_SFU_HEAL_TIMEOUT: '7',
      RINGLINE_DRAIN_TIMEOUT: '0',
      RINGLINE_HTTP_REQUEST_TIMEOUT: '20',
      RINGLINE_HTTP_HEADERS_TIMEOUT: '4',
      RINGLINE_HTTP_KEEPALIVE_TIMEOUT: '2',
      RINGLINE_HTTP_IDLE_TIMEOUT: '0',
      RINGLINE_LOG_LEVEL: 'debug',
    };
    expect(parseServeArgs([], env)).toEqual({
      help: false,
      port: 9000,
      host: '127.0.0.1',
      sdkAppID: 1400000001,
      secretKey: 'k',
      dataDir: '/var/lib/ringline',
      database: 'postgres://ringline:pw@db:5432/ringline?pool_size=20',
      nodeID: 'node-1',
      logLevel: 'debug',
      inviteTimeout: 45,
      maxRingTime: 90,
      maxInvitationsPerCall: 20,
      iceServers: [{ urls: 'stun:stun.example.org:3478' }],
      dev: true,
      janus: 'ws://127.0.0.1:8188',
      janusInterface: 'rl0',
      p2p: false,
      apiDocs: false,
      sfuHealTimeout: 7,
      drainTimeoutMs: 0,
      httpTimeouts: { request: 20, headers: 4, keepAlive: 2, idle: 0 },
    });
  });

  test('--log-level takes debug, info, warn or error, the flag before RINGLINE_LOG_LEVEL', () => {
    expect(parseServeArgs(['--log-level', 'warn'], { RINGLINE_LOG_LEVEL: 'debug' }).logLevel).toBe(
      'warn',
    );
    expect(() => parseServeArgs(['--log-level', 'verbose'], {})).toThrow(
      /--log-level: "verbose" is not one of debug, info, warn, error/,
    );
    expect(() => parseServeArgs([], { RINGLINE_LOG_LEVEL: 'loud' })).toThrow(
      /^RINGLINE_LOG_LEVEL: "loud"/,
    );
  });

  test('dev mode listens on loopback unless a host is given', () => {
    expect(parseServeArgs(['--dev'], {}).host).toBe('127.0.0.1');
    expect(parseServeArgs([], { RINGLINE_DEV: '1' }).host).toBe('127.0.0.1');
    expect(parseServeArgs(['--dev', '--host', '0.0.0.0'], {}).host).toBe('0.0.0.0');
    expect(parseServeArgs(['--dev'], { RINGLINE_HOST: '::' }).host).toBe('::');
  });

  test('HTTP timeout flags win over the environment and are checked', () => {
    const config = parseServeArgs(['--http-request-timeout', '8', '--http-headers-timeout', '3'], {
      RINGLINE_HTTP_REQUEST_TIMEOUT: '50',
    });
    expect(config.httpTimeouts).toEqual({ request: 8, headers: 3, keepAlive: 5, idle: 60 });
    expect(() => parseServeArgs(['--http-headers-timeout', '40'], {})).toThrow(
      /headers timeout \(40 s\) must be from 1 to the request timeout \(30 s\)/,
    );
    expect(() => parseServeArgs(['--http-idle-timeout', 'soon'], {})).toThrow(
      /--http-idle-timeout must be an integer/,
    );
  });

  test('flags win over the environment', () => {
    const config = parseServeArgs(
      ['--port', '0', '--invite-timeout', '5', '--secret-key', 'flag'],
      {
        RINGLINE_PORT: '9000',
        RINGLINE_SECRET_KEY: 'env',
        RINGLINE_INVITE_TIMEOUT: '45',
      },
    );
    expect(config).toMatchObject({ port: 0, inviteTimeout: 5, secretKey: 'flag' });
  });

  test.each([
    [['--port', '70000'], /--port must be an integer from 0 to 65535/],
    [['--port', 'eighty'], /--port/],
    [['--sdkappid', '-3'], /--sdkappid/],
    [['--invite-timeout', '1.5'], /--invite-timeout/],
    [['--max-ring-time', '0'], /--max-ring-time must be an integer from 1 to 3600/],
    [['--max-invitations-per-call', '0'], /--max-invitations-per-call must be an integer from 1/],
    [['--multi-device', 'ring-some'], /--multi-device must be kick or ring-all, got "ring-some"/],
    [['--max-devices', '0'], /--max-devices must be an integer from 1 to 100/],
    [['--max-devices', '101'], /--max-devices must be an integer from 1 to 100/],
    [['--ice-servers', '[oops'], /--ice-servers is not valid JSON/],
    [['--colour'], /unknown option '--colour'/],
    [['--prot', '80'], /unknown option '--prot' \(Did you mean --port\?\)/],
    [['--drain-timeout', '3601'], /--drain-timeout must be an integer from 0 to 3600/],
    [['--drain-timeout', '1.5'], /--drain-timeout must be an integer from 0 to 3600/],
    [['--janus', 'http://127.0.0.1:8088'], /--janus must be auto, off, or the ws:\/\/ URL/],
    [['--janus', 'sometimes'], /--janus must be auto, off/],
    [['--janus', 'ws://a:8188,auto'], /--janus must be auto, off/],
    [['--janus', 'ws://a:8188,'], /--janus must be auto, off/],
    [['--janus', 'ws://a:8188,ws://a:8188'], /--janus lists ws:\/\/a:8188 twice/],
    [['--p2p', 'maybe'], /--p2p must be on or off/],
    [['--janus-interface', 'eth0; rm -rf'], /--janus-interface/],
    [['--sfu-heal-timeout', '0'], /--sfu-heal-timeout must be an integer from 1 to 3600/],
    [['--database', 'sqlite:ringline.db'], /--database must be a postgres:\/\/ or postgresql:/],
    [['--database', 'postgres:///db'], /--database names no host/],
    [['--database', 'postgres://db/x?pool_size=500'], /pool_size must be an integer from 1 to 100/],
    [['--node-id', 'node 1'], /--node-id must be 1-64 letters/],
    [['stray'], /too many arguments/],
  ])('refuses %j with a ConfigError (exit code 2)', (args, message) => {
    let caught: unknown;
    try {
      parseServeArgs(args, {});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).exitCode).toBe(2);
    expect((caught as ConfigError).message).toMatch(message);
  });

  test('--janus takes a comma-separated pool of Janus URLs', () => {
    expect(parseServeArgs(['--janus', 'ws://a:8188, wss://b.example/janus'], {}).janus).toBe(
      'ws://a:8188,wss://b.example/janus',
    );
  });

  test('--janus-interface defaults to the test namespace veth (RINGLINE_MEDIA_IFACE)', () => {
    expect(parseServeArgs([], { RINGLINE_MEDIA_IFACE: 'rl0' }).janusInterface).toBe('rl0');
    expect(
      parseServeArgs(['--janus-interface', 'lo'], { RINGLINE_MEDIA_IFACE: 'rl0' }).janusInterface,
    ).toBe('lo');
    expect(parseServeArgs(['--janus', 'off', '--p2p', 'on'], {})).toMatchObject({
      janus: 'off',
      p2p: true,
    });
  });

  test('refuses an RINGLINE_DEV that is not a boolean', () => {
    expect(() => parseServeArgs([], { RINGLINE_DEV: 'maybe' })).toThrow(/RINGLINE_DEV/);
  });
  test('reads the signalling limits from flags and RINGLINE_* variables, flags first', () => {
    const config = parseServeArgs(
      [
        '--max-connections',
        '500',
        '--max-connections-per-address',
        '20',
        '--login-timeout',
        '5',
        '--rate-limit',
        '10/2.5',
        '--max-depth',
        '8',
        '--outbox-limit',
        '50',
      ],
      {
        RINGLINE_MAX_CONNECTIONS: '9',
        RINGLINE_PRELOGIN_RATE_LIMIT: '30/3',
        RINGLINE_RATE_LIMIT_CLOSE_AFTER: '100',
        RINGLINE_MAX_BUFFERED_BYTES: '1048576',
        RINGLINE_MAX_BUFFERED_BYTES_BEFORE_LOGIN: '4096',
        RINGLINE_OUTBOX_BYTES: '65536',
      },
    );
    expect(config).toMatchObject({
      rateLimit: { burst: 10, perSecond: 2.5 },
      outboxLimit: 50,
      limits: {
        maxConnections: 500,
        maxConnectionsPerAddress: 20,
        loginTimeout: 5,
        maxDepth: 8,
        preLoginRateLimit: { burst: 30, perSecond: 3 },
        rateLimitCloseAfter: 100,
        maxBufferedBytes: 1048576,
        maxBufferedBytesBeforeLogin: 4096,
        outboxBytes: 65536,
      },
    });
  });

  test.each([
    [['--rate-limit', '10'], /--rate-limit must be BURST\/PER_SECOND/],
    [['--prelogin-rate-limit', '0/5'], /--prelogin-rate-limit/],
    [['--max-connections', '0'], /--max-connections must be an integer from 1/],
    [['--login-timeout', '-1'], /--login-timeout/],
    [['--max-buffered-bytes', '10'], /--max-buffered-bytes must be an integer from 1024/],
    [['--max-depth', '1'], /--max-depth/],
  ])('refuses the limit %j', (args, message) => {
    expect(() => parseServeArgs(args, {})).toThrow(message);
  });

  test('startServer refuses a limit out of range with a ConfigError', async () => {
    const dataDir = tempDir();
    await expect(
      startServer({ port: 0, dev: true, dataDir, limits: { maxConnections: 0 } }),
    ).rejects.toThrow(ConfigError);
    await expect(
      startServer({ port: 0, dev: true, dataDir, rateLimit: { burst: 0, perSecond: 1 } }),
    ).rejects.toThrow(/rateLimit/);
  });
});

describe('TURN, public IP and ICE policy flags', () => {
  test('are read from flags and RINGLINE_* variables, flags first', () => {
    const config = parseServeArgs(
      [
        '--turn',
        'auto',
        '--turn-port',
        '3479',
        '--turn-relay-ports',
        '50000-50999',
        '--turn-allowed-peer-ip',
        '100.64.0.0/16, 10.77.0.0/24',
        '--public-ip',
        '100.64.0.10',
        '--ice-transport-policy',
        'relay',
      ],
      { RINGLINE_TURN: 'off', RINGLINE_TURN_TTL: '600', RINGLINE_TURN_SECRET: 'sssssssssssssssss' },
    );
    expect(config).toMatchObject({
      turn: 'auto',
      turnSecret: 'sssssssssssssssss',
      turnTtl: 600,
      turnPort: 3479,
      turnRelayPorts: { min: 50000, max: 50999 },
      turnAllowedPeerIps: ['100.64.0.0/16', '10.77.0.0/24'],
      publicIp: '100.64.0.10',
      iceTransportPolicy: 'relay',
    });
    const external = parseServeArgs([], {
      RINGLINE_TURN: 'turn:turn.example.org:3478',
      RINGLINE_PUBLIC_IP: '203.0.113.7',
      RINGLINE_ICE_TRANSPORT_POLICY: 'all',
    });
    expect(external).toMatchObject({
      turn: 'turn:turn.example.org:3478',
      publicIp: '203.0.113.7',
      iceTransportPolicy: 'all',
    });
  });

  test('are absent unless given', () => {
    const config = parseServeArgs([], {});
    for (const key of ['turn', 'turnSecret', 'turnTtl', 'publicIp', 'iceTransportPolicy']) {
      expect(config).not.toHaveProperty(key);
    }
  });

  test('refuse bad values with a ConfigError', () => {
    for (const [args, message] of [
      [['--turn', 'yes'], /--turn must be/],
      [['--turn-ttl', '59'], /--turn-ttl/],
      [['--turn-ttl', '1h'], /--turn-ttl/],
      [['--turn-port', '70000'], /--turn-port/],
      [['--turn-relay-ports', '50000'], /--turn-relay-ports/],
      [['--public-ip', 'cloud.example.org'], /--public-ip/],
      [['--ice-transport-policy', 'none'], /--ice-transport-policy/],
    ] as const) {
      expect(() => parseServeArgs([...args], {}), args.join(' ')).toThrow(ConfigError);
      expect(() => parseServeArgs([...args], {}), args.join(' ')).toThrow(message);
    }
  });
});

describe('--redis', () => {
  test('is read from the flag or RINGLINE_REDIS, flag first, and absent unless given', () => {
    expect(parseServeArgs([], {}).redis).toBeUndefined();
    expect(parseServeArgs([], { RINGLINE_REDIS: 'redis://r:6379' }).redis).toBe('redis://r:6379');
    expect(
      parseServeArgs(['--redis', 'rediss://u:p@r:6380/2'], { RINGLINE_REDIS: 'redis://x' }).redis,
    ).toBe('rediss://u:p@r:6380/2');
  });

  test.each([
    ['localhost:6379', /redis:\/\/ or rediss:\/\//],
    ['http://r:6379', /redis:\/\/ or rediss:\/\//],
    ['not a url', /must be a URL/],
    ['redis://r:6379/x', /database number/],
  ])('refuses %s with a ConfigError', (value, message) => {
    expect(() => parseServeArgs(['--redis', value], {})).toThrow(ConfigError);
    expect(() => parseServeArgs(['--redis', value], {})).toThrow(message);
  });

  test('startServer fails with CLUSTER_UNAVAILABLE when Redis does not answer', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    await expect(
      startServer({ port: 0, sdkAppID: 1, secretKey: 'k', redis: 'redis://127.0.0.1:1' }),
    ).rejects.toMatchObject({ name: 'CLUSTER_UNAVAILABLE' });
  });
});

describe('--state', () => {
  test('is read from the flag or RINGLINE_STATE, flag first, and absent unless given', () => {
    expect(parseServeArgs([], {}).state).toBeUndefined();
    expect(parseServeArgs([], { RINGLINE_STATE: 'memory' }).state).toBe('memory');
    expect(parseServeArgs(['--state', 'sqlite'], { RINGLINE_STATE: 'memory' }).state).toBe(
      'sqlite',
    );
  });

  test('refuses another mode, and a mode with --redis, with a ConfigError naming the flag', () => {
    for (const args of [
      ['--state', 'redis'],
      ['--state', ''],
      ['--state', 'memory', '--redis', 'redis://r:6379'],
    ]) {
      expect(() => parseServeArgs(args, {}), args.join(' ')).toThrow(ConfigError);
      expect(() => parseServeArgs(args, {}), args.join(' ')).toThrow(/--state/);
    }
  });

  test('startServer refuses a bad state and one given with redis', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ringline-state-'));
    try {
      await expect(
        startServer({ port: 0, dev: true, dataDir, state: 'disk' as 'memory' }),
      ).rejects.toThrow(/--state must be sqlite or memory/);
      await expect(
        startServer({ port: 0, dev: true, dataDir, state: 'memory', redis: 'redis://r:6379' }),
      ).rejects.toThrow(ConfigError);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a second server on the data dir of a running one is refused: the state file is its own', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ringline-state-'));
    const first = await startServer({ port: 0, host: '127.0.0.1', dev: true, dataDir });
    try {
      await expect(startServer({ port: 0, host: '127.0.0.1', dev: true, dataDir })).rejects.toThrow(
        /in use by another process/,
      );
    } finally {
      await first.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('--ice-servers', () => {
  test('accepts STUN and TURN servers as RTCIceServer', () => {
    const servers = parseIceServers(
      '[{"urls":"stun:127.0.0.1:3478"},{"urls":["turn:127.0.0.1:3478?transport=udp","turns:t.example.org"],"username":"u","credential":"p"}]',
    );
    expect(servers).toEqual([
      { urls: 'stun:127.0.0.1:3478' },
      {
        urls: ['turn:127.0.0.1:3478?transport=udp', 'turns:t.example.org'],
        username: 'u',
        credential: 'p',
      },
    ]);
  });

  test.each([
    ['{"urls":"stun:x"}', /must be a JSON array/],
    ['[42]', /\[0\] must be an object/],
    ['[{}]', /\[0\]\.urls/],
    ['[{"urls":[]}]', /\[0\]\.urls/],
    ['[{"urls":"http://x"}]', /not a stun:, stuns:, turn: or turns: URL/],
    ['[{"urls":"turn:x"}]', /TURN server and needs username and credential/],
    ['[{"urls":"stun:x","password":"p"}]', /unknown field "password"/],
    ['[{"urls":"stun:x","username":5}]', /username must be a string/],
  ])('refuses %s', (json, message) => {
    expect(() => parseIceServers(json)).toThrow(message);
  });
});

describe('app credentials', () => {
  test('given ones are used as they are', async () => {
    expect(await resolveCredentials({ sdkAppID: 1400000001, secretKey: 'k' })).toMatchObject({
      sdkAppID: 1400000001,
      secretKey: 'k',
      created: false,
    });
  });

  test('without them and without dev mode, the server refuses to start', async () => {
    await expect(resolveCredentials({})).rejects.toThrow(/no app credentials.*--dev/);
    await expect(startServer({ port: 0, host: '127.0.0.1' })).rejects.toBeInstanceOf(ConfigError);
    await expect(resolveCredentials({ sdkAppID: 1400000001 })).rejects.toThrow(/both/);
  });

  test('in dev mode a pair is made once, kept in app.json with mode 0600, and reused', async () => {
    const dataDir = join(tempDir(), 'nested', 'state');
    const first = await resolveCredentials({ dev: true, dataDir });
    expect(first.created).toBe(true);
    expect(first.sdkAppID).toBeGreaterThanOrEqual(1_400_000_000);
    expect(first.secretKey).toMatch(/^[0-9a-f]{64}$/);
    const file = join(dataDir, 'app.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      sdkAppID: first.sdkAppID,
      secretKey: first.secretKey,
    });

    const second = await resolveCredentials({ dev: true, dataDir });
    expect(second).toMatchObject({
      sdkAppID: first.sdkAppID,
      secretKey: first.secretKey,
      created: false,
    });

    const server = await startServer({ port: 0, host: '127.0.0.1', dev: true, dataDir });
    try {
      expect(server.sdkAppID).toBe(first.sdkAppID);
      expect(server.secretKey).toBe(first.secretKey);
    } finally {
      await server.close();
    }
  });

  test('a damaged app.json is reported, not silently replaced', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'app.json'), '{"sdkAppID": "x"}');
    await expect(resolveCredentials({ dev: true, dataDir })).rejects.toThrow(
      /lacks sdkAppID\/secretKey/,
    );
  });
});

describe('startServer', () => {
  test('close() is idempotent', async () => {
    const server = await startServer({ port: 0, host: '127.0.0.1', sdkAppID: 1, secretKey: 'k' });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    await Promise.all([server.close(), server.close()]);
    await server.close();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  test('refuses bad options with a ConfigError', async () => {
    await expect(
      startServer({ port: 0, sdkAppID: 1, secretKey: 'k', iceServers: [{ urls: 'http://x' }] }),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(
      startServer({ port: 0, sdkAppID: 1, secretKey: 'k', inviteTimeout: -1 }),
    ).rejects.toThrow(/inviteTimeout/);
    await expect(
      startServer({ port: 0, sdkAppID: 1, secretKey: 'k', maxRingTime: 0 }),
    ).rejects.toThrow(/maxRingTime/);
    await expect(
      startServer({ port: 0, sdkAppID: 1, secretKey: 'k', maxInvitationsPerCall: 0.5 }),
    ).rejects.toThrow(/maxInvitationsPerCall/);
    await expect(
      startServer({ port: 0, sdkAppID: 1, secretKey: 'k', maxDevices: 0 }),
    ).rejects.toThrow(/maxDevices/);
    await expect(
      startServer({
        port: 0,
        sdkAppID: 1,
        secretKey: 'k',
        multiDevice: 'sometimes' as 'kick',
      }),
    ).rejects.toThrow(/multiDevice must be kick or ring-all/);
  });
});

describe('--multi-device and --max-devices', () => {
  test('are absent by default (kick), and read from flags or the environment', () => {
    const none = parseServeArgs([], {});
    expect(none.multiDevice).toBeUndefined();
    expect(none.maxDevices).toBeUndefined();
    expect(parseServeArgs(['--multi-device', 'ring-all', '--max-devices', '3'], {})).toMatchObject({
      multiDevice: 'ring-all',
      maxDevices: 3,
    });
    expect(
      parseServeArgs([], { RINGLINE_MULTI_DEVICE: 'kick', RINGLINE_MAX_DEVICES: '8' }),
    ).toMatchObject({ multiDevice: 'kick', maxDevices: 8 });
  });
});
