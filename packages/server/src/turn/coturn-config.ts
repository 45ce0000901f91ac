/**
 * The turnserver.conf that `--turn auto` writes into `<dataDir>/turn/`: TURN REST auth with the
 * server's shared secret, the listening and relay addresses, the relay port range, and peer
 * filters so that the relay cannot be used to reach the machine's own or its private networks.
 */
import { parseCidr, type Cidr } from './cidr.js';

/**
 * Peers coturn refuses to relay to. A TURN server relays to whatever address an authenticated
 * client names; without these, any logged-in user could reach services on the server's loopback,
 * its private LAN or the cloud metadata endpoint (169.254.169.254) through it.
 * `--turn-allowed-peer-ip` lets ranges back (the tests' simulated internet is 100.64.0.0/16).
 */
export const DENIED_PEER_RANGES: readonly string[] = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private (RFC 1918)
  '100.64.0.0/10', // carrier-grade NAT (RFC 6598)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, cloud metadata services
  '172.16.0.0/12', // private (RFC 1918)
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation
  '192.168.0.0/16', // private (RFC 1918)
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation
  '203.0.113.0/24', // documentation
  '240.0.0.0/4', // reserved, and 255.255.255.255 broadcast
  '::/128', // unspecified
  '::1/128', // loopback
  '::ffff:0:0/96', // IPv4-mapped: would reach the IPv4 ranges above
  '64:ff9b::/96', // NAT64: likewise
  '2001:db8::/32', // documentation
  'fc00::/7', // unique local
  'fe80::/10', // link-local
];

export interface CoturnConfigInput {
  /** The shared secret for `use-auth-secret` (never sent to clients). */
  secret: string;
  /** UDP and TCP port for TURN and STUN. */
  port: number;
  /** Address coturn listens and relays on; all when absent. */
  listenIp?: string | undefined;
  /** Public address to advertise when it is not one of the machine's own (1:1 NAT). */
  externalIp?: string | undefined;
  /** Relay ports. */
  relayPorts: { min: number; max: number };
  /** Ranges taken back out of DENIED_PEER_RANGES. */
  allowedPeers: readonly Cidr[];
  realm: string;
  /** coturn's own pid file (its default is under /var/run). */
  pidFile: string;
  /** coturn's SQLite user database (unused with use-auth-secret, but it opens one). */
  userDb: string;
}

/** turnserver.conf's text. */
export function coturnConfig(input: CoturnConfigInput): string {
  const lines = [
    '# Written by ringline (--turn auto); rewritten on every start. Holds the TURN secret: 0600.',
    `listening-port=${input.port}`,
  ];
  if (input.listenIp) lines.push(`listening-ip=${input.listenIp}`, `relay-ip=${input.listenIp}`);
  if (input.externalIp) {
    lines.push(`external-ip=${input.externalIp}${input.listenIp ? `/${input.listenIp}` : ''}`);
  }
  lines.push(
    `min-port=${input.relayPorts.min}`,
    `max-port=${input.relayPorts.max}`,
    // TURN REST: users are `expiry:userID`, passwords an HMAC of that with the shared secret.
    'use-auth-secret',
    `static-auth-secret=${input.secret}`,
    `realm=${input.realm}`,
    'fingerprint',
    'no-cli',
    // ringline has no certificate to give coturn here; clients use turn: over UDP and TCP.
    'no-tls',
    'no-dtls',
    'no-multicast-peers',
    'no-software-attribute',
    ...DENIED_PEER_RANGES.map((cidr) => `denied-peer-ip=${parseCidr(cidr).range}`),
    // coturn lets an allowed range through even inside a denied one.
    ...input.allowedPeers.map((cidr) => `allowed-peer-ip=${cidr.range}`),
    // Foreground child: its log goes to our stdout pipe, not to /var/log.
    'log-file=stdout',
    'simple-log',
    `pidfile=${input.pidFile}`,
    `userdb=${input.userDb}`,
    '',
  );
  return lines.join('\n');
}
