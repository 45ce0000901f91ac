/**
 * The REST API's OpenAPI document, made by @fastify/swagger from the routes' TypeBox schemas, and
 * Swagger UI to read and try it: `/api/docs` (the page) and `/api/docs/json` (the document).
 */
import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { SECURITY_SCHEMES } from './schema.js';

/** Where the page is served; the document is `${API_DOCS_PATH}/json` (and `/yaml`). */
export const API_DOCS_PATH = '/api/docs';

// src/http and dist/http sit at the same depth under the package.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The paths the document describes: our REST API and Tencent's IM REST surface. */
const documented = (url: string): boolean => url.startsWith('/api/') || url.startsWith('/v4/');

/**
 * Registers the document and its page. Call before any route is added: the document is built from
 * the routes registered after this.
 */
export async function apiDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      // 3.1: its schema objects are JSON Schema 2020-12, which TypeBox writes as it is.
      openapi: '3.1.0',
      info: {
        title: 'Ringline',
        version,
        description:
          'The REST API of a Ringline server: groups and call history for the app backend ' +
          "(administrator userSig), each user's own call history (their userSig), and Tencent " +
          "IM's REST API for groups. Every error is {error: {code, name, message}} with a " +
          "code listed in docs/errors.md; the IM REST routes answer in Tencent's shape.",
      },
      tags: [
        { name: 'admin', description: 'Groups and call history, for the app backend' },
        { name: 'history', description: "Call history: all calls (admin) or one user's own" },
        {
          name: 'im',
          description: "Tencent IM's REST API for groups (Tencent's shapes and codes)",
        },
        { name: 'dev', description: 'Only with --dev, for the demo' },
      ],
      components: { securitySchemes: { ...SECURITY_SCHEMES } },
    },
    // Health, metrics, the SDK bundles and the demo are not the API; the page hides itself.
    transform: ({ schema, url }) => ({
      schema: documented(url) ? schema : { ...schema, hide: true },
      url,
    }),
  });
  await app.register(swaggerUi, {
    routePrefix: API_DOCS_PATH,
    uiConfig: { docExpansion: 'list', deepLinking: false },
  });
}
