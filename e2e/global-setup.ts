import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assertInTestNamespace } from './harness/chromium.js';

const SDK_BUNDLE = fileURLToPath(
  new URL('../packages/calling/dist/trtc-calling.js', import.meta.url),
);

/**
 * Runs once before the e2e files. Builds nothing (the npm script or CI builds first) and refuses to
 * start where WebRTC media could reach a real network interface.
 */
export default function setup(): void {
  assertInTestNamespace();
  if (!existsSync(SDK_BUNDLE)) {
    throw new Error(`${SDK_BUNDLE} is missing: run npm run build first`);
  }
}
