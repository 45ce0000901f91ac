/** The coturn config `--turn auto` writes, CIDR handling, and how the TURN options combine. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import { parseCidr, parseCidrList } from './cidr.js';
import { coturnConfig, DENIED_PEER_RANGES } from './coturn-config.js';
import { parseRelayPorts, parseTurnUrls, resolveTurn, type TurnOptionsInput } from './options.js';

const base = {
  secret: 'the-shared-secret-0123',
  port: 3478,
  listenIp: '100.64.0.10',
  relayPorts: { min: 50000, max: 50100 },
  allowedPeers: [],
  realm: 'ringline',
  pidFile: '/data/turn/turnserver.pid',
  userDb: '/data/turn/turndb',
};

function lines(text: string): string[] {
  return text.split('\n');
}

describe('CIDR blocks', () => {
  it('become the first-last ranges coturn takes', () => {
    expect(parseCidr('10.0.0.0/8').range).toBe('10.0.0.0-10.255.255.255');
    expect(parseCidr('172.16.0.0/12').range).toBe('172.16.0.0-172.31.255.255');
    expect(parseCidr('100.64.0.0/16').range).toBe('100.64.0.0-100.64.255.255');
    expect(parseCidr('100.64.7.9/16').text).toBe('100.64.0.0/16');
    expect(parseCidr('203.0.113.7').range).toBe('203.0.113.7-203.0.113.7');
    expect(parseCidr('::1/128').range).toBe('0:0:0:0:0:0:0:1-0:0:0:0:0:0:0:1');
    expect(parseCidr('fc00::/7').range).toBe(
      'fc00:0:0:0:0:0:0:0-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    );
    expect(parseCidr('fe80::/10').range).toBe(
      'fe80:0:0:0:0:0:0:0-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    );
    expect(parseCidr('::ffff:0:0/96').range).toBe('0:0:0:0:0:ffff:0:0-0:0:0:0:0:ffff:ffff:ffff');
  });

  it('refuses what is not one', () => {
    for (const bad of ['', '10.0.0.0/33', '10.0.0/8', 'fc00::/129', 'example.org/8', '1.2.3.4/x']) {
      expect(() => parseCidr(bad), bad).toThrow();
    }
    expect(() => parseCidrList(' , ')).toThrow(/none/);
    expect(parseCidrList('100.64.0.0/16, 10.77.0.0/24').map((c) => c.text)).toEqual([
      '100.64.0.0/16',
      '10.77.0.0/24',
    ]);
  });
});

describe('the coturn config', () => {
  it('listens and relays on the given address and port with the relay range', () => {
    const l = lines(coturnConfig(base));
    expect(l).toContain('listening-port=3478');
    expect(l).toContain('listening-ip=100.64.0.10');
    expect(l).toContain('relay-ip=100.64.0.10');
    expect(l).toContain('min-port=50000');
    expect(l).toContain('max-port=50100');
    expect(l.some((x) => x.startsWith('external-ip'))).toBe(false);
  });

  it('advertises a public address the machine does not have as external-ip', () => {
    const l = lines(coturnConfig({ ...base, listenIp: '10.0.0.5', externalIp: '203.0.113.7' }));
    expect(l).toContain('external-ip=203.0.113.7/10.0.0.5');
    const wildcard = lines(
      coturnConfig({ ...base, listenIp: undefined, externalIp: '203.0.113.7' }),
    );
    expect(wildcard).toContain('external-ip=203.0.113.7');
    expect(wildcard.some((x) => x.startsWith('listening-ip'))).toBe(false);
  });

  it('checks TURN REST credentials against the shared secret', () => {
    const l = lines(coturnConfig(base));
    expect(l).toContain('use-auth-secret');
    expect(l).toContain('static-auth-secret=the-shared-secret-0123');
    expect(l).toContain('realm=ringline');
    expect(l).toContain('fingerprint');
  });

  it('has no CLI, no TLS/DTLS listeners, logs to stdout and keeps its files in the data dir', () => {
    const l = lines(coturnConfig(base));
    for (const flag of ['no-cli', 'no-tls', 'no-dtls', 'no-multicast-peers', 'log-file=stdout']) {
      expect(l).toContain(flag);
    }
    expect(l).toContain('pidfile=/data/turn/turnserver.pid');
    expect(l).toContain('userdb=/data/turn/turndb');
  });

  it('denies relaying to private and special ranges', () => {
    const denied = lines(coturnConfig(base)).filter((x) => x.startsWith('denied-peer-ip='));
    expect(denied).toHaveLength(DENIED_PEER_RANGES.length);
    for (const range of [
      '10.0.0.0-10.255.255.255',
      '172.16.0.0-172.31.255.255',
      '192.168.0.0-192.168.255.255',
      '127.0.0.0-127.255.255.255',
      '169.254.0.0-169.254.255.255',
      '0.0.0.0-0.255.255.255',
      '100.64.0.0-100.127.255.255',
      '0:0:0:0:0:0:0:1-0:0:0:0:0:0:0:1',
      'fc00:0:0:0:0:0:0:0-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      'fe80:0:0:0:0:0:0:0-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    ]) {
      expect(denied).toContain(`denied-peer-ip=${range}`);
    }
    expect(lines(coturnConfig(base)).some((x) => x.startsWith('allowed-peer-ip'))).toBe(false);
  });

  it('lets the allowed ranges back', () => {
    const l = lines(
      coturnConfig({ ...base, allowedPeers: parseCidrList('100.64.0.0/16,10.77.0.0/24') }),
    );
    expect(l).toContain('allowed-peer-ip=100.64.0.0-100.64.255.255');
    expect(l).toContain('allowed-peer-ip=10.77.0.0-10.77.0.255');
  });
});

describe('TURN options', () => {
  const input = (over: Partial<TurnOptionsInput>): TurnOptionsInput => ({
    host: '0.0.0.0',
    iceServers: [],
    ...over,
  });

  it('default to no TURN and the policy all', () => {
    expect(resolveTurn(input({}))).toEqual({
      turn: { mode: 'off' },
      policy: 'all',
      publicIp: undefined,
    });
  });

  it('auto: URLs on the public IP, defaults for port, range, TTL', () => {
    const r = resolveTurn(input({ turn: 'auto', publicIp: '100.64.0.10' }));
    expect(r.turn).toEqual({
      mode: 'auto',
      secret: undefined,
      ttlS: 86_400,
      port: 3478,
      relayPorts: { min: 49152, max: 65535 },
      allowedPeers: [],
      urlHost: '100.64.0.10',
    });
    expect(r.publicIp).toBe('100.64.0.10');
  });

  it('auto: a specific --host serves when there is no public IP; a wildcard does not', () => {
    const r = resolveTurn(input({ turn: 'auto', host: '127.0.0.1' }));
    expect(r.turn.mode === 'auto' && r.turn.urlHost).toBe('127.0.0.1');
    expect(() => resolveTurn(input({ turn: 'auto' }))).toThrow(/--public-ip/);
  });

  it('external: URLs need the secret; a bare turn: URL gets UDP and TCP, and a stun: URL', () => {
    expect(() => resolveTurn(input({ turn: 'turn:turn.example.org:3478' }))).toThrow(
      /--turn-secret/,
    );
    const r = resolveTurn(
      input({ turn: 'turn:turn.example.org:3478', turnSecret: 'external-secret-0123' }),
    );
    expect(r.turn).toEqual({
      mode: 'external',
      secret: 'external-secret-0123',
      ttlS: 86_400,
      turnUrls: [
        'turn:turn.example.org:3478?transport=udp',
        'turn:turn.example.org:3478?transport=tcp',
      ],
      stunUrls: ['stun:turn.example.org:3478'],
    });
    expect(
      parseTurnUrls('turn:[2001:db8::1]:3478?transport=udp,turns:turn.example.org:5349'),
    ).toEqual({
      turnUrls: ['turn:[2001:db8::1]:3478?transport=udp', 'turns:turn.example.org:5349'],
      stunUrls: ['stun:[2001:db8::1]:3478'],
    });
  });

  it('relay policy needs some TURN server', () => {
    expect(() => resolveTurn(input({ iceTransportPolicy: 'relay' }))).toThrow(ConfigError);
    expect(() => resolveTurn(input({ iceTransportPolicy: 'relay' }))).toThrow(/no TURN server/);
    const staticTurn = [{ urls: 'turn:t.example.org', username: 'u', credential: 'c' }];
    expect(resolveTurn(input({ iceTransportPolicy: 'relay', iceServers: staticTurn })).policy).toBe(
      'relay',
    );
    expect(
      resolveTurn(input({ iceTransportPolicy: 'relay', turn: 'auto', host: '10.0.0.1' })).policy,
    ).toBe('relay');
  });

  it('refuses bad values with a ConfigError naming the option', () => {
    const cases: [Partial<TurnOptionsInput>, RegExp][] = [
      [{ turn: 'stun:x:1' }, /--turn must be/],
      [{ turn: 'turn:host:99999', turnSecret: 'external-secret-0123' }, /--turn must be/],
      [{ turn: 'auto', host: '1.2.3.4', turnTtl: 59 }, /--turn-ttl/],
      [{ turn: 'auto', host: '1.2.3.4', turnTtl: 604_801 }, /--turn-ttl/],
      [{ turn: 'auto', host: '1.2.3.4', turnPort: 0 }, /--turn-port/],
      [{ turn: 'auto', host: '1.2.3.4', turnPort: 50000 }, /inside the relay range/],
      [{ turn: 'auto', host: '1.2.3.4', turnRelayPorts: { min: 60000, max: 50000 } }, /MIN-MAX/],
      [{ turn: 'auto', host: '1.2.3.4', turnAllowedPeerIps: ['10.0.0.0/40'] }, /allowed-peer/],
      [{ turn: 'auto', host: '1.2.3.4', turnSecret: 'short' }, /--turn-secret/],
      [{ turn: 'auto', host: '1.2.3.4', turnSecret: 'has a space in it!!' }, /--turn-secret/],
      [{ publicIp: 'my.host' }, /--public-ip/],
      [{ iceTransportPolicy: 'none' }, /--ice-transport-policy/],
      [{ turnSecret: 'external-secret-0123' }, /needs --turn/],
      [{ turnAllowedPeerIps: ['10.0.0.0/8'] }, /needs --turn/],
      [
        { turn: 'turn:t.example.org', turnSecret: 'external-secret-0123', turnPort: 3479 },
        /needs --turn auto/,
      ],
    ];
    for (const [over, message] of cases) {
      const run = () => resolveTurn(input(over));
      expect(run, JSON.stringify(over)).toThrow(ConfigError);
      expect(run, JSON.stringify(over)).toThrow(message);
    }
    expect(() => parseRelayPorts('1-2-3')).toThrow(/MIN-MAX/);
    expect(parseRelayPorts('50000-50100')).toEqual({ min: 50000, max: 50100 });
  });
});
