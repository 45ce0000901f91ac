#!/usr/bin/env node
// Entry for `npx ringline`; the CLI itself is compiled to dist/ by `npx tsc -b`.
const { run } = await import('../dist/cli.js');
await run();
