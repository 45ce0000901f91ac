import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'test-results/**', 'docs/api/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Plain-JS tools (build scripts, benchmarks, the e2e harness's Node side) run on Node.
    files: ['**/*.mjs', '**/*.js'],
    ignores: ['e2e/harness/in-page.js', 'bench/lib/videocall-page.js'],
    languageOptions: { globals: globals.node },
  },
  {
    // Scripts installed in pages: the e2e harness's, bench:call's Janus VideoCall client.
    files: ['e2e/harness/in-page.js', 'bench/lib/videocall-page.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    // Benchmarks also hand functions to the browser (page.evaluate).
    files: ['bench/**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
