/**
 * The kit loaded by script tag from the Ringline server into a page of another origin, as the
 * README shows (`<script src="https://calls.example.com/sdk/callkit.js">`): without a `server`
 * option, `TUICallKitServer.init` talks to the script's origin, not to the page's.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useRingline } from './harness/index.js';

const ringline = useRingline();

/** Serves one HTML page from an origin of its own (another port). */
let site: Server;
let siteURL: string;

beforeAll(async () => {
  site = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><title>app</title><tui-call-kit></tui-call-kit>` +
        `<script src="${ringline.server.url}/sdk/callkit.js"></script>`,
    );
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteURL = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  site.closeAllConnections();
  await new Promise<void>((resolve) => site.close(() => resolve()));
});

describe('the kit loaded by script tag from the Ringline server', () => {
  test('logs in to the server it came from, with no server option', async () => {
    const context = await ringline.browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(siteURL);
      const userID = `script_${Date.now().toString(36)}`;
      const result = await page.evaluate(
        async ({ userID, userSig, SDKAppID }) => {
          const kit = (
            window as unknown as {
              TUICallKit: {
                TUICallKitServer: {
                  init(p: object): Promise<void>;
                  getTUICallEngineInstance(): object | null;
                  destroyed(): Promise<void>;
                };
              };
            }
          ).TUICallKit.TUICallKitServer;
          try {
            await kit.init({ userID, userSig, SDKAppID });
            const engine = kit.getTUICallEngineInstance() !== null;
            await kit.destroyed();
            return { ok: true, engine, origin: location.origin };
          } catch (error) {
            return { ok: false, error: String(error), origin: location.origin };
          }
        },
        {
          userID,
          userSig: ringline.server.userSig(userID),
          SDKAppID: ringline.server.sdkAppID,
        },
      );
      expect(result.origin).not.toBe(new URL(ringline.server.url).origin);
      expect(result).toMatchObject({ ok: true, engine: true });
    } finally {
      await context.close();
    }
  });
});
