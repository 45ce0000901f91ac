// Launching Debian's Chromium the same way for the e2e tests and bench/call.mjs (plain JS so the
// benchmark can import it without a TypeScript step).
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The in-page recorder/probe script, installed in every page before the page's own scripts. */
export const IN_PAGE_SCRIPT = fileURLToPath(new URL('./in-page.js', import.meta.url));

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  // Fake camera (a moving test pattern) and microphone (a beep), granted without a prompt.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Lets ICE pair candidates on loopback/our veth; inside the namespace there is nothing else.
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

/** The interfaces scripts/in-netns.sh makes; anything else means we are on a real network. */
const NAMESPACE_INTERFACES = new Set(['lo', 'rl0', 'rl1']);

/**
 * Throws unless this process runs inside the namespace made by scripts/in-netns.sh: the env says
 * so (RINGLINE_NETNS=1) and no interface with an address exists besides loopback and the veth pair.
 */
export function assertInTestNamespace() {
  const foreign = Object.keys(networkInterfaces()).filter((n) => !NAMESPACE_INTERFACES.has(n));
  if (process.env.RINGLINE_NETNS !== '1' || foreign.length > 0) {
    throw new Error(
      'refusing to run WebRTC outside the test network namespace' +
        (foreign.length > 0 ? ` (found interfaces ${foreign.join(', ')})` : '') +
        ': run through scripts/in-netns.sh (npm run test:e2e / npm run bench:call)',
    );
  }
}

/**
 * Launches headless Chromium. Refuses to run outside the network namespace made by
 * scripts/in-netns.sh, so that WebRTC media can never reach a real interface.
 * @param {string[]} [extraArgs] more command-line flags (e.g. to trust a test certificate)
 * @returns {Promise<import('playwright-core').Browser>}
 */
export async function launchChromium(extraArgs = []) {
  assertInTestNamespace();
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}

/**
 * A browser context for one user: its own fake devices, camera and microphone permission granted
 * for `origin`, and the in-page script installed.
 * @param {import('playwright-core').Browser} browser
 * @param {string} origin
 * @returns {Promise<import('playwright-core').BrowserContext>}
 */
export async function newUserContext(browser, origin) {
  const context = await browser.newContext({ viewport: { width: 700, height: 300 } });
  await context.grantPermissions(['camera', 'microphone'], { origin });
  await context.addInitScript({ path: IN_PAGE_SCRIPT });
  return context;
}
