// A small internet made of network namespaces, for the cross-NAT tests and bench/network.mjs.
//
//   this process's namespace = the backbone router (ip_forward on)
//     ├─ bb-pub ── pub0 100.64.0.10/24   "public": Ringline, Janus, coturn, UDP echo
//     ├─ bb-s1  ── wan0 100.64.1.2/24    site 1 router (NAT: nftables) ── lan0 10.1.0.1/24
//     │                                       └─ eth0 10.1.0.2/24  site 1 client (its Chromium)
//     └─ bb-s2  ── wan0 100.64.2.2/24    site 2 router …            ── 10.2.0.2 client
//
// Every address stays inside namespaces the run made (100.64.0.0/16 and 10.N.0.0/24). close()
// leaves this namespace as it was: the backbone's veth ends deleted, ip_forward restored.
import { readFile, writeFile } from 'node:fs/promises';
import { CONTROL_TABLE, UDP_BLOCK_RULES, controlTable, lossRules, natTable } from './nat.js';
import { Namespace, runCommand } from './netns.js';

/** The public segment's server address (Ringline, Janus, coturn). */
export const PUBLIC_IP = '100.64.0.10';
/** The backbone's address on the public segment, the public namespace's default gateway. */
export const BACKBONE_PUBLIC_IP = '100.64.0.1';
/** What coturn may relay to: the whole simulated internet's public side. */
export const PUBLIC_RANGE = '100.64.0.0/16';
/** The public namespace's interface (give it to `--janus-interface`). */
export const PUBLIC_IFACE = 'pub0';

/**
 * @typedef {'symmetric' | 'cone' | 'none'} NatKind
 *   symmetric: `masquerade random,fully-random` — a new public port per destination;
 *   cone: port-restricted cone — plain `masquerade` (keeps the port), unsolicited inbound dropped;
 *   none: a plain router, the client's 10.N.0.2 is routed (the baseline without NAT).
 */

/**
 * @typedef {object} SiteSpec
 * @property {string} name a label, e.g. 'home'
 * @property {NatKind} nat
 */

/** One client site: a router namespace doing NAT and a client namespace behind it. */
export class Site {
  /** @type {number} */ #wanHost = 2;

  /**
   * @param {number} index N in 100.64.N.0/24 and 10.N.0.0/24
   * @param {SiteSpec} spec
   * @param {Namespace} router
   * @param {Namespace} client
   */
  constructor(index, spec, router, client) {
    this.index = index;
    this.name = spec.name;
    /** @type {NatKind} */
    this.nat = spec.nat;
    this.router = router;
    this.client = client;
    /** The client's own (private) address. */
    this.clientIp = `10.${index}.0.2`;
    /** The router's LAN address, the client's gateway. */
    this.lanIp = `10.${index}.0.1`;
    /** The backbone's address toward this site, the router's gateway. */
    this.gatewayIp = `100.64.${index}.1`;
  }

  /** The router's current WAN address: the client's public address under NAT. */
  get wanIp() {
    return `100.64.${this.index}.${this.#wanHost}`;
  }

  /**
   * Every address that identifies this site's user on the network (private and public, including
   * WAN addresses it had before a change): none may show up in another user's remote candidates
   * under the relay-only policy.
   * @returns {string[]}
   */
  get addresses() {
    const wan = [2, 3].map((h) => `100.64.${this.index}.${h}`);
    return [this.clientIp, ...wan];
  }

  /** Drops every UDP packet the router would forward, both ways, until unblockUdp(). */
  async blockUdp() {
    await this.router.nft(controlTable(UDP_BLOCK_RULES));
  }

  /** Forwards UDP again (and ends any loss set with setLoss()). */
  async unblockUdp() {
    await this.router.nft(controlTable([]));
  }

  /**
   * Drops `percent` % of the UDP packets the router forwards, each direction, at random
   * (nftables numgen; netem is not available here). 0 ends the loss.
   * @param {number} percent
   */
  async setLoss(percent) {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
      throw new RangeError(`loss must be an integer percentage, got ${percent}`);
    }
    await this.router.nft(controlTable(lossRules(percent)));
  }

  /**
   * Moves the router to another WAN address (100.64.N.2 ⇄ 100.64.N.3), as when a phone changes
   * network: masquerade drops every mapping of the old address, so each flow — media and the
   * signalling connection — gets a new public 5-tuple. Resolves with the new address.
   * @returns {Promise<string>}
   */
  async changePublicAddress() {
    if (this.nat === 'none') throw new Error('a site without NAT has no public address to change');
    const old = this.wanIp;
    this.#wanHost = this.#wanHost === 2 ? 3 : 2;
    // Add the new address first so the subnet route never disappears, then drop the old one
    // (masquerade's address notifier flushes its conntrack entries) and restore the default route.
    await this.router.run(['ip', 'addr', 'add', `${this.wanIp}/24`, 'dev', 'wan0']);
    await this.router.run(['ip', 'addr', 'del', `${old}/24`, 'dev', 'wan0']);
    await this.router.run(['ip', 'route', 'replace', 'default', 'via', this.gatewayIp]);
    return this.wanIp;
  }

  /** Current control rules on the router (for messages when a test fails). */
  controlRules() {
    return this.router.run(['nft', 'list', 'table', 'inet', CONTROL_TABLE]).catch(String);
  }
}

/** The namespaces of one run; close() removes them all. */
export class Internet {
  /**
   * @param {Namespace} publicNs
   * @param {Site[]} sites
   * @param {string} forwardBefore this namespace's ip_forward before the run
   */
  constructor(publicNs, sites, forwardBefore) {
    /** The public segment: 100.64.0.10 on pub0, default route via the backbone. */
    this.public = publicNs;
    this.sites = sites;
    this.forwardBefore = forwardBefore;
    /** @type {Promise<void> | undefined} */
    this.closing = undefined;
  }

  /**
   * The site named `name`.
   * @param {string} name
   * @returns {Site}
   */
  site(name) {
    const site = this.sites.find((s) => s.name === name);
    if (!site) throw new Error(`no site named ${name} (have ${this.sites.map((s) => s.name)})`);
    return site;
  }

  /**
   * Deletes the backbone's veth pairs, kills every namespace and restores ip_forward. Idempotent.
   * The pairs are deleted explicitly: the kernel destroys a namespace (and so its interfaces)
   * asynchronously, and the next file's internet reuses the names.
   */
  close() {
    this.closing ??= (async () => {
      const links = ['bb-pub', ...this.sites.map((s) => `bb-s${s.index}`)];
      for (const link of links) {
        await runHere(['ip', 'link', 'del', link]).catch(() => undefined);
      }
      await Promise.all([
        this.public.close(),
        ...this.sites.flatMap((s) => [s.router.close(), s.client.close()]),
      ]);
      await writeForward(this.forwardBefore).catch(() => undefined);
    })();
    return this.closing;
  }
}

/** This (backbone) namespace's IPv4 forwarding switch. */
async function readForward() {
  return (await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim();
}

async function writeForward(value) {
  await writeFile('/proc/sys/net/ipv4/ip_forward', `${value}\n`);
}

/**
 * Builds the internet: the public namespace and one router + client pair per site, numbered from 1
 * in `sites` order. Must run inside the test namespace (scripts/in-netns.sh): it adds interfaces
 * and turns on forwarding in the current namespace. On any failure, removes what it made.
 * @param {{ sites: SiteSpec[] }} spec
 * @returns {Promise<Internet>}
 */
export async function createInternet({ sites }) {
  if (process.env.RINGLINE_NETNS !== '1') {
    throw new Error(
      'createInternet() changes the current network namespace: run through scripts/in-netns.sh',
    );
  }
  if (sites.length > 50) throw new Error('at most 50 sites');
  const names = new Set(sites.map((s) => s.name));
  if (names.size !== sites.length) throw new Error('site names must be unique');
  const forwardBefore = await readForward();
  /** @type {Namespace[]} */
  const made = [];
  const make = async (name) => {
    const ns = await Namespace.create(name);
    made.push(ns);
    return ns;
  };
  try {
    await writeForward('1');
    const publicNs = await make('public');
    await linkToBackbone(publicNs, 'bb-pub', PUBLIC_IFACE, BACKBONE_PUBLIC_IP, PUBLIC_IP);

    /** @type {Site[]} */
    const built = [];
    for (const [i, spec] of sites.entries()) {
      const index = i + 1;
      const router = await make(`${spec.name}-router`);
      const client = await make(`${spec.name}-client`);
      const site = new Site(index, spec, router, client);
      await linkToBackbone(router, `bb-s${index}`, 'wan0', site.gatewayIp, site.wanIp);
      await router.sysctl('net.ipv4.ip_forward', 1);
      // changePublicAddress() deletes the primary WAN address: keep the new one, not both.
      await router.sysctl('net.ipv4.conf.wan0.promote_secondaries', 1);
      // The LAN: router lan0 ⇄ client eth0.
      await router.run(['ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0']);
      await router.run(['ip', 'link', 'set', 'eth0', 'netns', client.ref]);
      await router.run(['ip', 'addr', 'add', `${site.lanIp}/24`, 'dev', 'lan0']);
      await router.run(['ip', 'link', 'set', 'lan0', 'up']);
      await client.run(['ip', 'addr', 'add', `${site.clientIp}/24`, 'dev', 'eth0']);
      await client.run(['ip', 'link', 'set', 'eth0', 'up']);
      await client.run(['ip', 'route', 'add', 'default', 'via', site.lanIp]);
      await router.nft(natTable(spec.nat) + controlTable([]));
      if (spec.nat === 'none') {
        // No NAT: the backbone routes the site's private range to its router.
        await runHere(['ip', 'route', 'add', `10.${index}.0.0/24`, 'via', site.wanIp]);
      }
      built.push(site);
    }
    return new Internet(publicNs, built, forwardBefore);
  } catch (error) {
    for (const link of ['bb-pub', ...sites.map((_s, i) => `bb-s${i + 1}`)]) {
      await runHere(['ip', 'link', 'del', link]).catch(() => undefined);
    }
    await Promise.all(made.map((ns) => ns.close()));
    await writeForward(forwardBefore).catch(() => undefined);
    throw error;
  }
}

/**
 * A veth pair between this namespace (`hereIface`, `hereIp`/24) and `ns` (`thereIface`,
 * `thereIp`/24, default route via `hereIp`).
 */
async function linkToBackbone(ns, hereIface, thereIface, hereIp, thereIp) {
  await runHere(['ip', 'link', 'add', hereIface, 'type', 'veth', 'peer', 'name', thereIface]);
  await runHere(['ip', 'link', 'set', thereIface, 'netns', ns.ref]);
  await runHere(['ip', 'addr', 'add', `${hereIp}/24`, 'dev', hereIface]);
  await runHere(['ip', 'link', 'set', hereIface, 'up']);
  await ns.run(['ip', 'addr', 'add', `${thereIp}/24`, 'dev', thereIface]);
  await ns.run(['ip', 'link', 'set', thereIface, 'up']);
  // A default route: coturn drops an allocation whose relay send gets "network unreachable".
  await ns.run(['ip', 'route', 'add', 'default', 'via', hereIp]);
}

function runHere(command) {
  return runCommand('backbone', command);
}
