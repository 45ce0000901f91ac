import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PUBLIC_IP, createInternet, type Internet, type Site } from './topology.js';
import { startUdpEcho, udpProbe, type UdpEcho } from './udp.js';

// The simulated internet itself, before any call runs on it: the NAT kinds behave as named, the
// sites cannot reach each other's private addresses, and the router controls do what they say.

const ECHO_PORTS = [7000, 7001, 7002];
const echoes = ECHO_PORTS.map((p) => `${PUBLIC_IP}:${p}`);

let net: Internet;
let echo: UdpEcho;
let symmetric: Site;
let cone: Site;
let cone2: Site;
let open: Site;

beforeAll(async () => {
  net = await createInternet({
    sites: [
      { name: 'sym', nat: 'symmetric' },
      { name: 'cone', nat: 'cone' },
      { name: 'cone2', nat: 'cone' },
      { name: 'open', nat: 'none' },
    ],
  });
  symmetric = net.site('sym');
  cone = net.site('cone');
  cone2 = net.site('cone2');
  open = net.site('open');
  echo = await startUdpEcho(net.public, ECHO_PORTS);
  // The site clients echo too, to show who can reach them.
  await Promise.all([symmetric, cone, open].map((s) => startUdpEcho(s.client, [7000]))).then(
    (started) => (siteEchoes = started),
  );
});

let siteEchoes: UdpEcho[] = [];

afterAll(async () => {
  await Promise.all([echo, ...siteEchoes].map((e) => e?.close()));
  await net?.close();
});

/**
 * Sites `a` and `b` send to each other's public address at once, from local ports 41001 and 41002,
 * 20 packets 25 ms apart each; resolves with what each received.
 */
function holePunch(a: Site, b: Site) {
  const options = { count: 20, gapMs: 25, waitMs: 300, message: 'punch' };
  return Promise.all([
    udpProbe(a.client, [`${b.wanIp}:41002`], { ...options, port: 41001 }),
    udpProbe(b.client, [`${a.wanIp}:41001`], { ...options, port: 41002 }),
  ]);
}

/** The ports the echo saw one probe socket come from, one per destination. */
function mappedPorts(replies: { mapped?: string; poke: boolean }[]): string[] {
  return replies.filter((r) => !r.poke).map((r) => r.mapped!);
}

describe('a symmetric NAT (masquerade random,fully-random)', () => {
  test('maps one socket to a different public port for each destination', async () => {
    const result = await udpProbe(symmetric.client, echoes);
    const mapped = mappedPorts(result.replies);
    expect(mapped).toHaveLength(3);
    for (const m of mapped) expect(m.split(':')[0]).toBe(symmetric.wanIp);
    expect(new Set(mapped.map((m) => m.split(':')[1])).size).toBe(3);
  });

  test('drops a packet from a port the client never sent to', async () => {
    const result = await udpProbe(symmetric.client, [echoes[0]!], { message: 'poke' });
    expect(result.replies.map((r) => r.from)).toEqual([echoes[0]]);
  });
});

describe('a port-restricted cone NAT (masquerade, unsolicited inbound dropped)', () => {
  test('maps one socket to the same public address and port for every destination', async () => {
    const result = await udpProbe(cone.client, echoes);
    const mapped = mappedPorts(result.replies);
    expect(mapped).toHaveLength(3);
    expect(new Set(mapped)).toEqual(new Set([`${cone.wanIp}:${result.local}`]));
  });

  test('drops a packet from a port the client never sent to, even from the same host', async () => {
    const result = await udpProbe(cone.client, [echoes[0]!], { message: 'poke' });
    expect(result.replies.map((r) => r.from)).toEqual([echoes[0]]);
  });

  test('lets a peer in once the client has sent to it: two cone sites can punch a hole', async () => {
    // Both send to the other's public address at the same local port (cone keeps it): the first
    // packets are dropped as unsolicited, later ones match the hole the other side punched.
    const [a, b] = await holePunch(cone, cone2);
    expect(a.replies.map((r) => r.from)).toEqual([`${cone2.wanIp}:41002`]);
    expect(b.replies.map((r) => r.from)).toEqual([`${cone.wanIp}:41001`]);
  });

  test('a hole cannot be punched between a cone and a symmetric site', async () => {
    const [a, b] = await holePunch(cone, symmetric);
    expect([...a.replies, ...b.replies]).toEqual([]);
  });
});

describe('the sites', () => {
  test('cannot reach each other’s private addresses, only the public segment', async () => {
    const result = await udpProbe(symmetric.client, [`${cone.clientIp}:7000`, echoes[0]!]);
    expect(result.replies.map((r) => r.from)).toEqual([echoes[0]]);
  });

  test('a site without NAT is seen with its own address and can be reached directly', async () => {
    const out = await udpProbe(open.client, [echoes[0]!]);
    expect(mappedPorts(out.replies)[0]).toBe(`${open.clientIp}:${out.local}`);
    const inbound = await udpProbe(net.public, [`${open.clientIp}:7000`]);
    expect(inbound.replies.map((r) => r.from)).toEqual([`${open.clientIp}:7000`]);
  });

  test('behind NAT a client cannot be reached unsolicited from the public segment', async () => {
    for (const site of [symmetric, cone]) {
      const inbound = await udpProbe(net.public, [`${site.wanIp}:7000`, `${site.clientIp}:7000`]);
      expect(inbound.replies, site.name).toEqual([]);
    }
  });
});

describe('the router controls', () => {
  test('blockUdp drops every UDP packet until unblockUdp', async () => {
    await symmetric.blockUdp();
    try {
      expect((await udpProbe(symmetric.client, [echoes[0]!])).replies).toEqual([]);
    } finally {
      await symmetric.unblockUdp();
    }
    expect((await udpProbe(symmetric.client, [echoes[0]!])).replies).toHaveLength(1);
  });

  test('setLoss drops about that share of packets each way', async () => {
    await cone.setLoss(30);
    let answered = 0;
    try {
      const result = await udpProbe(cone.client, [echoes[0]!], { count: 400, gapMs: 1 });
      answered = result.replies[0]?.count ?? 0;
    } finally {
      await cone.setLoss(0);
    }
    // 30 % each way: about 0.7 × 0.7 = 49 % of 400 round trips survive (σ ≈ 10).
    expect(answered).toBeGreaterThan(140);
    expect(answered).toBeLessThan(260);
    const clean = await udpProbe(cone.client, [echoes[0]!], { count: 50, gapMs: 1 });
    expect(clean.replies[0]?.count).toBe(50);
  });

  test('changePublicAddress gives the client a new public address', async () => {
    const before = mappedPorts((await udpProbe(cone.client, [echoes[0]!])).replies)[0]!;
    const wan = await cone.changePublicAddress();
    try {
      const after = mappedPorts((await udpProbe(cone.client, [echoes[0]!])).replies)[0]!;
      expect(before.split(':')[0]).not.toBe(wan);
      expect(after.split(':')[0]).toBe(wan);
    } finally {
      await cone.changePublicAddress();
    }
  });
});
