import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Tests run against the TypeScript sources of the workspace packages, not their builds. */
export const workspaceAliases = [
  { find: /^@ringline\/protocol\/schema$/, replacement: src('./packages/protocol/src/schema.ts') },
  { find: /^@ringline\/protocol$/, replacement: src('./packages/protocol/src/index.ts') },
  { find: /^@ringline\/server$/, replacement: src('./packages/server/src/index.ts') },
  { find: /^@ringline\/calling$/, replacement: src('./packages/calling/src/index.ts') },
];

export default defineConfig({
  resolve: { alias: workspaceAliases },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
    testTimeout: 15_000,
  },
});
