/**
 * A Ringline cluster inside the test run, made of the real parts a deployment has: redis-server,
 * PostgreSQL, N `ringline serve` node PROCESSES (from the build: `npm run build` first) sharing
 * both, optionally one Janus they all use, and Debian's nginx in front with the documented
 * docs/deploy/cluster-nginx.conf (only its ports, node addresses and certificate paths changed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { genUserSig } from '@ringline/server';
import { startJanus } from '../../bench/lib/janus.mjs';
import {
  freePort,
  startPostgres,
  type TestPostgres,
} from '../../packages/server/src/testing/postgres.js';
import { startRedis, type TestRedis } from '../../packages/server/src/testing/redis.js';
import {
  makeTestCertificate,
  type TestCertificate,
} from '../../packages/server/src/testing/tls.js';
import type { UserServer } from '../harness/user.js';

const CLI = fileURLToPath(new URL('../../packages/server/dist/cli.js', import.meta.url));
const NGINX = '/usr/sbin/nginx';
export const CLUSTER_NGINX_CONF = fileURLToPath(
  new URL('../../docs/deploy/cluster-nginx.conf', import.meta.url),
);
const SDKAPPID = 1400000013;
/** Longest a node, nginx or Janus may take to start. */
const START_TIMEOUT_MS = 20_000;

/** Polls `check` every 100 ms until it is true; fails after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  for (const end = Date.now() + timeoutMs; !(await check());) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** One `ringline serve` process of the cluster. */
export interface ClusterNode {
  /** Its --node-id (the store's name for it). */
  readonly name: string;
  /** The id it registers in Redis presence for its sessions (logged at start). */
  readonly nodeID: string;
  readonly port: number;
  /** http://127.0.0.1:port: a client connecting here lands on this node for sure. */
  readonly url: string;
  /** A UserServer for TestUser.open that connects straight to this node. */
  readonly direct: UserServer;
  readonly child: ChildProcess;
  /** Its log (stderr) so far. */
  log(): string;
  /** GET /readyz: true for 200, false for 503 (or no answer). */
  ready(): Promise<boolean>;
  /** kill -9, as a crashed machine; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (SIGKILL after 10 s); idempotent. */
  stop(): Promise<void>;
}

export interface Cluster extends UserServer {
  /** https://127.0.0.1:port of nginx: clients here are spread round robin over the nodes. */
  readonly url: string;
  readonly sdkAppID: number;
  readonly nodes: ClusterNode[];
  readonly redis: TestRedis;
  /** Chromium's flag trusting nginx's test certificate by its SPKI hash. */
  readonly browserArgs: string[];
  /** nginx's certificate (PEM), for Node clients to trust. */
  readonly ca: string;
  /** nginx's access log so far: `<client> <request> <status> upstream=<node address>` lines. */
  accessLog(): string;
  userSig(userID: string): string;
  /** The node holding `userID`'s session now, by Redis presence; undefined if none does. */
  nodeOf(userID: string): Promise<ClusterNode | undefined>;
  /**
   * Stops Redis as an operator would (SHUTDOWN SAVE: its data written to disk first), so that
   * `redis.restart()` brings it back with the data it had; resolves once its port is closed.
   */
  stopRedisKeepingData(): Promise<void>;
  /** Stops nginx, the nodes, Janus, Postgres and Redis, and removes their files; idempotent. */
  close(): Promise<void>;
}

export interface ClusterOptions {
  nodes?: number;
  /** One Janus shared by every node (`--janus ws://…`); default off. */
  janus?: boolean;
  /** --invite-timeout for every node. */
  inviteTimeout?: number;
}

/** Starts the whole cluster; whatever started is closed again if a later part fails. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const closers: (() => Promise<void>)[] = [];
  const dirs: string[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  };
  try {
    const secretKey = 'c'.repeat(64);
    const redis = await startRedis();
    closers.push(() => redis.stop());
    const postgres: TestPostgres = await startPostgres();
    closers.push(() => postgres.stop());
    const database = await postgres.createDatabase();
    let janusUrl: string | undefined;
    if (options.janus) {
      const dir = mkdtempSync(join(tmpdir(), 'ringline-cluster-janus-'));
      dirs.push(dir);
      const janus = await startJanus({
        dir,
        iceInterface: process.env.RINGLINE_MEDIA_IFACE ?? 'lo',
      });
      closers.push(() => janus.close());
      janusUrl = janus.url;
    }
    const nodes: ClusterNode[] = [];
    // One at a time: the first migrates the shared schema, the others find it done.
    for (let i = 1; i <= (options.nodes ?? 3); i++) {
      const dataDir = mkdtempSync(join(tmpdir(), `ringline-cluster-node${i}-`));
      dirs.push(dataDir);
      const node = await startNode({
        name: `node-${i}`,
        dataDir,
        secretKey,
        flags: [
          '--redis',
          redis.url,
          '--database',
          database,
          '--janus',
          janusUrl ?? 'off',
          ...(options.inviteTimeout === undefined
            ? []
            : ['--invite-timeout', String(options.inviteTimeout)]),
        ],
      });
      closers.push(() => node.stop());
      nodes.push(node);
    }
    const cert = makeTestCertificate(['127.0.0.1']);
    closers.push(async () => cert.remove());
    const nginx = await startNginx(nodes, cert);
    closers.push(() => nginx.stop());
    // The test's own look into Redis; it is stopped and restarted under this client too.
    const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    admin.on('error', () => {});
    closers.push(async () => admin.disconnect());
    const connected = async () => {
      if (admin.status === 'wait') await admin.connect();
    };
    const userSig = (userID: string) => genUserSig({ sdkAppID: SDKAPPID, secretKey, userID });
    let closing: Promise<void> | undefined;
    return {
      url: nginx.url,
      sdkAppID: SDKAPPID,
      nodes,
      redis,
      browserArgs: [`--ignore-certificate-errors-spki-list=${cert.spki}`],
      ca: cert.cert,
      accessLog: () => nginx.accessLog(),
      userSig,
      async nodeOf(userID) {
        await connected();
        const id = await admin.hget(`ringline:${SDKAPPID}:presence:${userID}`, 'nodeID');
        return nodes.find((n) => n.nodeID === id);
      },
      async stopRedisKeepingData() {
        await connected();
        // The connection drops as the server exits: that is the reply.
        await admin.call('SHUTDOWN', 'SAVE').catch(() => {});
        await waitUntil('redis-server to exit', async () => !(await canConnect(redis.port)));
      },
      close: () => (closing ??= close()),
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function startNode(o: {
  name: string;
  dataDir: string;
  secretKey: string;
  flags: string[];
}): Promise<ClusterNode> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--sdkappid',
      String(SDKAPPID),
      '--secret-key',
      o.secretKey,
      '--data-dir',
      o.dataDir,
      '--node-id',
      o.name,
      // nginx connects from loopback; its X-Forwarded-For names the browser.
      '--trust-proxy',
      '127.0.0.1',
      // The tests stop nodes only at the end (or kill them): a drain would only wait there.
      '--drain-timeout',
      '0',
      ...o.flags,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stdout!.resume();
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  // Its log is JSON lines (stderr is not a terminal): the node's ID, then the message.
  const listening = /"nodeID":"([^"]+)","msg":"listening on http:\/\/127\.0\.0\.1:(\d+)"/;
  try {
    await waitUntil(
      `${o.name} to listen`,
      () => gone() || listening.test(stderr),
      START_TIMEOUT_MS,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const m = listening.exec(stderr);
  if (!m) throw new Error(`${o.name} exited before listening:\n${stderr}`);
  const port = Number(m[2]);
  const url = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  const node: ClusterNode = {
    name: o.name,
    nodeID: m[1]!,
    port,
    url,
    direct: {
      url,
      sdkAppID: SDKAPPID,
      userSig: (userID) => genUserSig({ sdkAppID: SDKAPPID, secretKey: o.secretKey, userID }),
    },
    child,
    log: () => stderr,
    async ready() {
      try {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
        return res.status === 200;
      } catch {
        return false;
      }
    },
    async kill() {
      if (!gone()) child.kill('SIGKILL');
      await exited;
    },
    stop: () =>
      (stopping ??= (async () => {
        if (gone()) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      })()),
  };
  return node;
}

/** Replaces `from` in `text`, failing if the documented file no longer has it. */
function substitute(text: string, from: string | RegExp, to: string): string {
  if (text.split(from).length === 1) {
    throw new Error(`docs/deploy/cluster-nginx.conf no longer contains ${String(from)}`);
  }
  return text.split(from).join(to);
}

/** The documented site with this cluster's nodes, ports and certificate. */
export function clusterSite(
  nodePorts: number[],
  ports: { https: number; http: number },
  cert: Pick<TestCertificate, 'certFile' | 'keyFile'>,
): string {
  let text = readFileSync(CLUSTER_NGINX_CONF, 'utf8');
  // The documented upstream lists three example nodes; they become ours, whatever their number.
  const servers = /^( *)server 10\.0\.0\.1\d:8080( [^;]*);\n/gm;
  const example = servers.exec(text);
  if (!example) throw new Error('docs/deploy/cluster-nginx.conf lists no example node');
  const [indent, params] = [example[1]!, example[2]!];
  let first = true;
  text = text.replace(servers, () => {
    if (!first) return '';
    first = false;
    return nodePorts.map((p) => `${indent}server 127.0.0.1:${p}${params};\n`).join('');
  });
  text = substitute(text, 'listen 443 ssl;', `listen 127.0.0.1:${ports.https} ssl;`);
  text = substitute(text, 'listen [::]:443 ssl;', '');
  text = substitute(text, 'listen 80;', `listen 127.0.0.1:${ports.http};`);
  text = substitute(text, 'listen [::]:80;', '');
  text = substitute(text, '/etc/letsencrypt/live/calls.example.com/fullchain.pem', cert.certFile);
  text = substitute(text, '/etc/letsencrypt/live/calls.example.com/privkey.pem', cert.keyFile);
  return text;
}

interface Nginx {
  url: string;
  accessLog(): string;
  stop(): Promise<void>;
}

/** Debian's nginx in the foreground with the documented site, everything in a temp prefix. */
async function startNginx(nodes: ClusterNode[], cert: TestCertificate): Promise<Nginx> {
  const ports = { https: await freePort(), http: await freePort() };
  const prefix = mkdtempSync(join(tmpdir(), 'ringline-cluster-nginx-'));
  writeFileSync(
    join(prefix, 'ringline.conf'),
    clusterSite(
      nodes.map((n) => n.port),
      ports,
      cert,
    ),
  );
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `worker_processes 1;
events { worker_connections 256; }
http {
  log_format upstream '$remote_addr $request $status upstream=$upstream_addr';
  access_log ${prefix}/access.log upstream;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  include ${prefix}/ringline.conf;
}
`,
  );
  const child = spawn(
    NGINX,
    [
      '-c',
      join(prefix, 'nginx.conf'),
      '-p',
      prefix,
      '-e',
      join(prefix, 'error.log'),
      '-g',
      `daemon off; pid ${join(prefix, 'nginx.pid')};`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const nginx: Nginx = {
    url: `https://127.0.0.1:${ports.https}`,
    accessLog: () =>
      existsSync(join(prefix, 'access.log'))
        ? readFileSync(join(prefix, 'access.log'), 'utf8')
        : '',
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(prefix, { recursive: true, force: true });
      })()),
  };
  try {
    await waitUntil(
      'nginx to listen',
      async () => child.exitCode !== null || (await canConnect(ports.https)),
      START_TIMEOUT_MS,
    );
    if (child.exitCode !== null) {
      const log = existsSync(join(prefix, 'error.log'))
        ? readFileSync(join(prefix, 'error.log'), 'utf8')
        : '';
      throw new Error(`nginx exited with ${child.exitCode}: ${stderr}${log}`);
    }
  } catch (err) {
    await nginx.stop();
    throw err;
  }
  return nginx;
}
