/**
 * The REST API's OpenAPI document at /api/docs/json: valid OpenAPI, and describing exactly the
 * routes the server registers (listed by an onRoute hook on the real server's app); Swagger UI at
 * /api/docs.
 */
import { channel } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/server.js';
import { buildHttpApp } from './app.js';

interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  tags: { name: string }[];
  paths: Record<
    string,
    Record<string, { tags?: string[]; security?: unknown[]; operationId?: string }>
  >;
  components: { securitySchemes: Record<string, { type: string }> };
}

const { version } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string };

let server: TestServer;
/** "METHOD /path" of every route the server's app registered. */
const registered = new Set<string>();
let doc: OpenApiDoc;

beforeAll(async () => {
  // Fastify announces each new instance here, before any route is added to it.
  const init = channel('fastify.initialization');
  const listen = (message: unknown) => {
    (message as { fastify: FastifyInstance }).fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) registered.add(`${method} ${route.url}`);
    });
  };
  init.subscribe(listen);
  try {
    // --dev: the demo's /api/dev/usersig is there too.
    server = await startTestServer({ dev: true });
  } finally {
    init.unsubscribe(listen);
  }
  const res = await fetch(`${server.url}/api/docs/json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await res.json()) as OpenApiDoc;
});
afterAll(async () => {
  await server?.close();
});

describe('the OpenAPI document', () => {
  it('validates against the OpenAPI 3.1 schema', async () => {
    const result = await new Validator().validate(
      structuredClone(doc) as unknown as Record<string, unknown>,
    );
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('names Ringline, its version, the tags and the userSig schemes', () => {
    expect(doc.info).toMatchObject({ title: 'Ringline', version });
    expect(doc.tags.map((t) => t.name)).toEqual(['admin', 'history', 'im', 'dev']);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'adminBearer',
      'adminQuery',
      'userBearer',
      'userQuery',
    ]);
  });

  it('describes every API route the server registers, and no other', () => {
    const api = [...registered].filter((r) => {
      const [method, url] = r.split(' ') as [string, string];
      // HEAD is Fastify's automatic twin of each GET; OPTIONS are CORS preflights; the page's
      // own routes are not the API.
      if (method === 'HEAD' || method === 'OPTIONS' || url.startsWith('/api/docs')) return false;
      return url.startsWith('/api/') || url.startsWith('/v4/');
    });
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    expect(api.length).toBeGreaterThan(20);
    expect(documented.sort()).toEqual(api.sort());
  });

  it('gives each operation a tag, a unique operationId and (but the dev one) a security requirement', () => {
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method} ${path}`;
        expect(op.tags?.length, where).toBeGreaterThan(0);
        if (!op.tags?.includes('dev')) expect(op.security, where).toBeDefined();
        expect(op.operationId, where).toMatch(/^\w+$/);
        expect(ids.has(op.operationId!), `${where}: ${op.operationId}`).toBe(false);
        ids.add(op.operationId!);
      }
    }
  });
});

describe('GET /api/docs', () => {
  it('serves Swagger UI, whose script loads', async () => {
    const page = await fetch(`${server.url}/api/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/swagger-ui/i);
    const script = await fetch(`${server.url}/api/docs/static/swagger-ui-bundle.js`);
    expect(script.status).toBe(200);
    await script.arrayBuffer();
  });

  it('is absent with apiDocs: false', async () => {
    let app: FastifyInstance | undefined;
    try {
      app = await buildHttpApp({ sdkAppID: 1, secretKey: 'k', dev: false, apiDocs: false });
      const res = await app.inject({ method: 'GET', url: '/api/docs/json' });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ error: { name: 'NOT_FOUND' } });
    } finally {
      await app?.close();
    }
  });
});
