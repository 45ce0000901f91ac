/**
 * The HTTP side: health, the SDK bundles, the demo, and (dev mode only) a userSig minting endpoint
 * for the demo. Signalling upgrades on the same server are taken by the signal gateway.
 */
import { existsSync, readFileSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { BLUR_ASSET_FILES, BLUR_ASSET_PATH } from '@ringline/protocol';
import { genUserSig } from '../auth/usersig.js';
import { DEFAULTS } from '../config.js';
import { ServerError } from '../errors.js';
import type { GroupService } from '../groups/index.js';
import { silentLogger, type Logger } from '../log.js';
import type { RateLimitOptions } from '../signal/rate-limit.js';
import { isValidUserID } from '../signal/validate.js';
import type { CallHistory } from '../store/index.js';
import { ADMIN_IDENTIFIER, adminRoutes } from './admin.js';
import { apiDocs } from './docs.js';
import { clientErrorHandler, HSTS, SECURITY_HEADERS, toHttpError } from './errors.js';
import { imRestRoutes } from './im-rest/index.js';
import { userHistoryRoutes } from './user-history.js';

// src/http and dist/http sit at the same depth, so these resolve alike from source and build.
const packagesDir = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The dist/ of a browser package, found through this package's dependencies: the same lookup
 * works in the monorepo (a workspace link) and in an app's node_modules (an installed tarball).
 */
function bundleDir(name: '@ringline/calling' | '@ringline/callkit', workspaceDir: string): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve(`${name}/package.json`)), 'dist');
  } catch {
    // Not installed beside us: the monorepo path, whose absence the 404 then explains.
    return join(packagesDir, workspaceDir, 'dist');
  }
}
/** Where @ringline/calling's build puts the SDK bundles. */
export const DEFAULT_SDK_DIR = bundleDir('@ringline/calling', 'calling');
/** Where @ringline/callkit's build puts the call UI kit's bundles. */
export const DEFAULT_CALLKIT_DIR = bundleDir('@ringline/callkit', 'callkit');
/** Where the demo's build goes. */
export const DEFAULT_DEMO_DIR = join(packagesDir, '..', 'apps', 'demo', 'dist');

/**
 * How long the HTTP server waits on a client, in seconds (0 = no limit). Node's defaults (or none,
 * as Fastify sets them) let a client that trickles its headers or body hold a connection forever.
 */
export interface HttpTimeouts {
  /** The whole request, headers and body, must arrive within this (Node's requestTimeout). */
  request: number;
  /** The request headers must arrive within this (Node's headersTimeout; at most `request`). */
  headers: number;
  /** An idle keep-alive connection is closed after this (Node's keepAliveTimeout). */
  keepAlive: number;
  /** A connection with no traffic at all for this long is closed (Fastify's connectionTimeout). */
  idle: number;
}

export const DEFAULT_HTTP_TIMEOUTS: Readonly<HttpTimeouts> = {
  request: DEFAULTS.httpRequestTimeout,
  headers: DEFAULTS.httpHeadersTimeout,
  keepAlive: DEFAULTS.httpKeepAliveTimeout,
  idle: DEFAULTS.httpIdleTimeout,
};

export interface HttpAppOptions {
  sdkAppID: number;
  secretKey: string;
  dev: boolean;
  sdkDir?: string;
  /** Where callkit.js / callkit.mjs are (default: the dist/ of the @ringline/callkit dependency). */
  callkitDir?: string;
  demoDir?: string;
  logger?: Logger;
  /** Serves the REST admin API for these groups. */
  groups?: GroupService;
  /** Serves the call history: to the admin API, and to each user (`/api/calls`). */
  history?: CallHistory;
  /** The user history API's per-address rate (default DEFAULT_USER_API_RATE). */
  historyRate?: RateLimitOptions;
  /** Client timeouts; any not given is its default. */
  timeouts?: Partial<HttpTimeouts>;
  /** Serve HTTPS (and so WSS) with this certificate and key instead of plain HTTP. */
  tls?: { cert: Buffer; key: Buffer };
  /** Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses, CIDR ranges). */
  trustProxy?: readonly string[];
  /** Whether this node should get new clients, and each part's answer: `/readyz`. */
  ready?: () => Promise<{ ready: boolean; checks: Record<string, boolean> }>;
  /** The Prometheus exposition `/metrics` serves; no route without it. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /**
   * Serve the REST API's OpenAPI document and Swagger UI at /api/docs (default true): it tells
   * no more than the public docs do, and every call it shows still needs a userSig.
   */
  apiDocs?: boolean;
}

/** The browser bundles served under /sdk/, and the workspace whose build writes each. */
const SDK_FILES = [
  { name: 'trtc-calling.js', dir: 'sdk', workspace: '@ringline/calling' },
  { name: 'trtc-calling.mjs', dir: 'sdk', workspace: '@ringline/calling' },
  { name: 'callkit.js', dir: 'callkit', workspace: '@ringline/callkit' },
  { name: 'callkit.mjs', dir: 'callkit', workspace: '@ringline/callkit' },
] as const;
type SdkFile = (typeof SDK_FILES)[number];

/**
 * Each bundle and its source map, by the name served: only these, so no URL under /sdk/ reaches
 * another file of a dist/ (or a folder above it).
 */
const SERVED_FILES = new Map<string, SdkFile>(
  SDK_FILES.flatMap((f) => [[f.name, f] as const, [`${f.name}.map`, f] as const]),
);

/** A versioned URL's bytes never change: a year, and no revalidation on reload. */
export const SDK_IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/** An unversioned URL may change with any upgrade: revalidated (ETag) on every use. */
export const SDK_UNVERSIONED_CACHE = 'no-cache';

/**
 * The version of the package whose build wrote `distDir` (the package.json beside it), which names
 * its versioned URLs `/sdk/<version>/<file>`; undefined (no versioned URLs) if there is none.
 */
function bundleVersion(distDir: string): string | undefined {
  try {
    const { version } = JSON.parse(readFileSync(join(distDir, '..', 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    // Semver only: the version is a URL segment.
    return typeof version === 'string' && /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version)
      ? version
      : undefined;
  } catch {
    return undefined;
  }
}

export async function buildHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  const log = options.logger ?? silentLogger;
  const bundleDirs = {
    sdk: options.sdkDir ?? DEFAULT_SDK_DIR,
    callkit: options.callkitDir ?? DEFAULT_CALLKIT_DIR,
  };
  const demoDir = options.demoDir ?? DEFAULT_DEMO_DIR;
  const t = { ...DEFAULT_HTTP_TIMEOUTS, ...options.timeouts };
  const ms = (seconds: number): number => Math.round(seconds * 1000);
  // Node checks request and header deadlines every connectionsCheckingInterval (default 30 s);
  // a quarter of the shortest deadline keeps the overshoot small, 1 s at most.
  const deadlines = [t.request, t.headers].filter((x) => x > 0).map(ms);
  const checkEvery = Math.max(50, Math.min(1000, Math.floor(Math.min(...deadlines, 4000) / 4)));
  const nodeServer = {
    // Node refuses a headersTimeout above requestTimeout; 0 means "no limit" for either.
    headersTimeout: t.request > 0 && t.headers === 0 ? ms(t.request) : ms(t.headers),
    connectionsCheckingInterval: checkEvery,
  };
  // HTTPS is the same server with a TLS layer under it: same routes, timeouts and upgrade path.
  // The handshake comes before the headers, so it gets the headers' deadline (Node's default is
  // 120 s, a slowloris's friend); with the deadlines off (0) Node's default stays.
  const listener = options.tls
    ? {
        https: {
          ...nodeServer,
          cert: options.tls.cert,
          key: options.tls.key,
          ...(t.headers > 0 && { handshakeTimeout: ms(t.headers) }),
        },
      }
    : { http: nodeServer };
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    requestTimeout: ms(t.request),
    keepAliveTimeout: ms(t.keepAlive),
    connectionTimeout: ms(t.idle),
    // Typed as the plain-HTTP variant: the routes and the upgrade handler do not care which.
    ...(listener as { http: typeof nodeServer }),
    // Only behind a named proxy do req.ip and req.protocol (HSTS) follow X-Forwarded-*.
    ...(options.trustProxy?.length && { trustProxy: [...options.trustProxy] }),
    clientErrorHandler,
    // A URL the router cannot decode: Fastify's own answer quotes it, userSig and all.
    frameworkErrors: (err, _req, reply) => {
      const { status, error } = toHttpError(err);
      void (reply as FastifyReply).code(status).send({ error: error.toWire() });
    },
  });
  // Only JSON bodies are taken; Fastify's default text/plain parser let a text body reach the
  // schema check (400) where the docs say 415.
  app.removeContentTypeParser('text/plain');

  app.addHook('onSend', async (req, reply) => {
    void reply.headers(SECURITY_HEADERS);
    if (req.protocol === 'https') void reply.header('strict-transport-security', HSTS);
  });

  app.setErrorHandler((err: Error, _req, reply) => {
    const { status, error } = toHttpError(err);
    if (status >= 500) log.error('http request failed', { err });
    if (status === 503 || status === 507) void reply.header('retry-after', '5');
    void reply.code(status).send({ error: error.toWire() });
  });

  // First: the document is made from the routes added after it.
  if (options.apiDocs ?? true) await apiDocs(app);

  app.get('/healthz', async () => ({ ok: true }));
  // Liveness above, readiness here: a balancer stops sending new clients while this is 503.
  app.get('/readyz', async (_req, reply) => {
    const answer = (await options.ready?.()) ?? { ready: true, checks: {} };
    return reply.code(answer.ready ? 200 : 503).send(answer);
  });

  const metrics = options.metrics;
  if (metrics) {
    app.get('/metrics', async (_req, reply) => {
      const { contentType, body } = await metrics();
      return reply.header('content-type', contentType).send(body);
    });
  }

  const versions = {
    sdk: bundleVersion(bundleDirs.sdk),
    callkit: bundleVersion(bundleDirs.callkit),
  };
  // A dev checkout rebuilds under the same version: a year-long cache would keep the old build.
  const versionedCache = options.dev ? SDK_UNVERSIONED_CACHE : SDK_IMMUTABLE_CACHE;
  await app.register(async (sdk) => {
    // Precompressed: the build writes FILE.br and FILE.gz, sent as they are by Accept-Encoding.
    await sdk.register(fastifyStatic, { serve: false, preCompressed: true, cacheControl: false });
    // @fastify/static says application/javascript; text/javascript is the standard one (RFC 9239).
    sdk.addHook('onSend', async (_req, reply) => {
      const type = reply.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('application/javascript')) {
        void reply.type('text/javascript; charset=utf-8');
      }
    });

    const sendBundle = async (reply: FastifyReply, served: string, cache: string) => {
      const { dir, workspace } = SERVED_FILES.get(served)!;
      const file = join(bundleDirs[dir], served);
      const built = await access(file).then(
        () => true,
        () => false,
      );
      if (!built) {
        return reply
          .code(404)
          .type('text/plain; charset=utf-8')
          .send(
            `${served} is not built. Run "npm run build --workspace ${workspace}" ` +
              `(it writes ${file}).\n`,
          );
      }
      void reply.header('cache-control', cache).header('access-control-allow-origin', '*');
      return reply.sendFile(served, bundleDirs[dir]);
    };

    for (const served of SERVED_FILES.keys()) {
      sdk.get(`/sdk/${served}`, (_req, reply) => sendBundle(reply, served, SDK_UNVERSIONED_CACHE));
    }
    // The same bytes under the version of the package that built them, cached for good. Only the
    // version installed here exists: an old page's URL is a 404 that names the current one.
    sdk.get('/sdk/:version/:file', async (req, reply) => {
      const { version, file } = req.params as { version: string; file: string };
      const entry = SERVED_FILES.get(file);
      const current = entry && versions[entry.dir];
      if (!entry || !current || version !== current) {
        throw new ServerError(
          'NOT_FOUND',
          entry && current
            ? `no such SDK version; this server has ${entry.workspace} ${current}`
            : 'no such SDK file',
        );
      }
      return sendBundle(reply, file, versionedCache);
    });
  });

  // Background blur's model and wasm, from the SDK's dist/blur/: only the listed files, so the
  // route cannot be walked out of that folder. They change only with the SDK version.
  const blurTypes: Record<string, string> = {
    js: 'text/javascript; charset=utf-8',
    wasm: 'application/wasm',
  };
  const blurFiles = new Set<string>(BLUR_ASSET_FILES);
  app.get(`${BLUR_ASSET_PATH}:file`, async (req, reply) => {
    const { file } = req.params as { file: string };
    if (!blurFiles.has(file)) {
      return reply.code(404).type('text/plain; charset=utf-8').send(`no blur asset ${file}\n`);
    }
    const path = join(bundleDirs.sdk, 'blur', file);
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(
          `${file} is not built. Run "npm run build --workspace @ringline/calling" ` +
            `(it writes ${path}).\n`,
        );
    }
    return reply
      .type(blurTypes[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream')
      .header('cache-control', 'public, max-age=3600')
      .header('access-control-allow-origin', '*')
      .send(body);
  });

  if (options.dev) {
    // For the demo served here only: no CORS, and a browser page of another origin is refused
    // outright (a page elsewhere must not mint identities on a developer's machine).
    const devSchema = {
      tags: ['dev'],
      operationId: 'devUserSig',
      summary: 'A userSig for the demo (--dev only)',
      description:
        '?userID=ID; for pages of this server only (403 CROSS_ORIGIN_REFUSED otherwise).',
    };
    app.get('/api/dev/usersig', { schema: devSchema }, async (req, reply) => {
      if (!sameOrigin(req.headers)) {
        throw new ServerError(
          'CROSS_ORIGIN_REFUSED',
          '/api/dev/usersig serves only pages of this server',
        );
      }
      const userID = (req.query as Record<string, unknown>).userID;
      if (!isValidUserID(userID)) throw ServerError.invalidUserID('userID', userID ?? '');
      if (userID === ADMIN_IDENTIFIER) throw ServerError.reservedUserID(userID);
      void reply.header('cache-control', 'no-store');
      const { sdkAppID, secretKey } = options;
      return { sdkAppID, userID, userSig: genUserSig({ sdkAppID, secretKey, userID }) };
    });
  }

  if (options.groups) {
    await app.register(adminRoutes, { ...options, groups: options.groups, logger: log });
    // Tencent IM's REST API for the same groups, for app backends written for Tencent.
    await app.register(imRestRoutes, { ...options, groups: options.groups, logger: log });
  }
  if (options.history) {
    await app.register(userHistoryRoutes, {
      ...options,
      history: options.history,
      ...(options.historyRate && { rate: options.historyRate }),
      logger: log,
    });
  }

  // The demo, if built; looked up per request, so building it later needs no restart.
  await app.register(fastifyStatic, { root: demoDir, wildcard: true, index: 'index.html' });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    if (
      req.method === 'GET' &&
      (path === '/' || path === '/index.html') &&
      !existsSync(join(demoDir, 'index.html'))
    ) {
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(
          'Ringline server is running, but the demo is not built. ' +
            'Run "npm run build --workspace @ringline/demo".\n',
        );
    }
    // The path is not echoed: URLs may carry a userSig.
    const error = new ServerError('NOT_FOUND', 'no route for this method and path');
    return reply.code(404).send({ error: error.toWire() });
  });

  return app;
}

/**
 * True unless a browser says the request comes from a page of another origin: `Sec-Fetch-Site`
 * where browsers send it, else `Origin` against `Host`. Tools (curl) send neither.
 */
function sameOrigin(headers: Record<string, string | string[] | undefined>): boolean {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = headers.origin;
  if (typeof origin !== 'string') return true;
  try {
    return new URL(origin).host === headers.host;
  } catch {
    return false;
  }
}
