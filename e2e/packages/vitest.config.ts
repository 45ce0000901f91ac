import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The packages test: it installs from the npm registry, so it runs outside the network namespace
 * the other suites run in (scripts/test-all.sh runs it first).
 */
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['e2e/packages/*.test.ts'],
    // Packing builds every package, and each consumer app installs its dependencies.
    testTimeout: 300_000,
    hookTimeout: 900_000,
  },
});
