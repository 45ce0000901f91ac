#!/usr/bin/env node
// Entry for `npx ringline`; the CLI itself is compiled to dist/ by `npm run build`.
await import('../dist/cli.js');
