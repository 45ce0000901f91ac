/**
 * The HTTP side: health, the SDK bundles, the demo, and (dev mode only) a userSig minting endpoint
 * for the demo. Signalling upgrades on the same server are taken by the signal gateway.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { genUserSig } from '../auth/usersig.js';
import { ServerError } from '../errors.js';
import type { GroupService } from '../groups/index.js';
import { silentLogger, type Logger } from '../log.js';
import { isValidUserID } from '../signal/validate.js';
import { adminRoutes } from './admin.js';

// src/http and dist/http sit at the same depth, so these resolve alike from source and build.
const packagesDir = fileURLToPath(new URL('../../../', import.meta.url));
/** Where the SDK engineer's build puts the bundles. */
export const DEFAULT_SDK_DIR = join(packagesDir, 'calling', 'dist');
/** Where the call UI kit's build puts its bundles. */
export const DEFAULT_CALLKIT_DIR = join(packagesDir, 'callkit', 'dist');
/** Where the demo's build goes. */
export const DEFAULT_DEMO_DIR = join(packagesDir, '..', 'apps', 'demo', 'dist');

export interface HttpAppOptions {
  sdkAppID: number;
  secretKey: string;
  dev: boolean;
  sdkDir?: string;
  /** Where callkit.js / callkit.mjs are (default: packages/callkit/dist). */
  callkitDir?: string;
  demoDir?: string;
  logger?: Logger;
  /** Serves the REST admin API for these groups. */
  groups?: GroupService;
}

/** The browser bundles served under /sdk/, and the workspace whose build writes each. */
const SDK_FILES = [
  { name: 'trtc-calling.js', dir: 'sdk', workspace: '@ringline/calling' },
  { name: 'trtc-calling.mjs', dir: 'sdk', workspace: '@ringline/calling' },
  { name: 'callkit.js', dir: 'callkit', workspace: '@ringline/callkit' },
  { name: 'callkit.mjs', dir: 'callkit', workspace: '@ringline/callkit' },
] as const;

export async function buildHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  const log = options.logger ?? silentLogger;
  const bundleDirs = {
    sdk: options.sdkDir ?? DEFAULT_SDK_DIR,
    callkit: options.callkitDir ?? DEFAULT_CALLKIT_DIR,
  };
  const demoDir = options.demoDir ?? DEFAULT_DEMO_DIR;
  const app = Fastify({ logger: false, forceCloseConnections: true });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) log.error('http request failed', { err });
    const wire =
      status >= 500
        ? ServerError.internal(err).toWire()
        : { code: status, name: err.name, message: err.message };
    void reply.code(status).send({ error: wire });
  });

  app.get('/healthz', async () => ({ ok: true }));

  for (const { name, dir, workspace } of SDK_FILES) {
    const file = join(bundleDirs[dir], name);
    app.get(`/sdk/${name}`, async (_req, reply) => {
      let body: Buffer;
      try {
        body = await readFile(file);
      } catch {
        return reply
          .code(404)
          .type('text/plain; charset=utf-8')
          .send(
            `${name} is not built. Run "npm run build --workspace ${workspace}" ` +
              `(it writes ${file}).\n`,
          );
      }
      return reply
        .type('text/javascript; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('access-control-allow-origin', '*')
        .send(body);
    });
  }

  if (options.dev) {
    app.get('/api/dev/usersig', async (req, reply) => {
      const userID = (req.query as Record<string, unknown>).userID;
      reply.header('access-control-allow-origin', '*');
      if (!isValidUserID(userID)) {
        return reply
          .code(400)
          .send({ error: ServerError.invalidUserID('userID', userID ?? '').toWire() });
      }
      const { sdkAppID, secretKey } = options;
      return { sdkAppID, userID, userSig: genUserSig({ sdkAppID, secretKey, userID }) };
    });
  }

  if (options.groups)
    await app.register(adminRoutes, { ...options, groups: options.groups, logger: log });

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
    return reply
      .code(404)
      .send({ error: { code: 404, name: 'NOT_FOUND', message: `no route ${req.method} ${path}` } });
  });

  return app;
}
