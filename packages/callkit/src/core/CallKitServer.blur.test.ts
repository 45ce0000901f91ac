/**
 * TUICallKit's blur API on the kit's core, in Node (the SDK's fake media, no DOM): the calls an
 * app makes resolve as Tencent's do. Real blur (a browser) is proven in e2e/blur.e2e.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  startTestServer,
  type TestServer,
} from '../../../calling/src/test-support/server.test-support.js';
import { testKit, type TestKit } from './testKit.test-support.js';

let ts: TestServer;
const kits: TestKit[] = [];
let n = 0;

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  await ts.close();
});
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.kit.destroyed()));
});

async function user(name: string): Promise<TestKit> {
  const k = await testKit(ts, `${name}_${++n}`);
  kits.push(k);
  return k;
}

describe('enableVirtualBackground', () => {
  it('records that the app offers blur, without turning it on', async () => {
    const { kit } = await user('alice');
    expect(kit.virtualBackground).toEqual({ offered: false, blurred: false });
    await kit.enableVirtualBackground(true);
    expect(kit.virtualBackground).toEqual({ offered: true, blurred: false });
    await kit.enableVirtualBackground(false);
    expect(kit.virtualBackground.offered).toBe(false);
  });

  it('refuses a value that is not a boolean', async () => {
    const { kit } = await user('alice');
    expect(() => kit.enableVirtualBackground('yes' as unknown as boolean)).toThrow(/enable/);
  });
});

describe('setBlurBackground where blur cannot run', () => {
  it('resolves as Tencent does (the failure is logged) and blur stays off', async () => {
    // Node has no document: the SDK refuses with 60110, the kit logs it and resolves.
    const { kit } = await user('alice');
    await expect(kit.setBlurBackground(true)).resolves.toBeUndefined();
    expect(kit.virtualBackground.blurred).toBe(false);
    await expect(kit.setBlurBackground(false)).resolves.toBeUndefined();
    expect(kit.virtualBackground.blurred).toBe(false);
  });
});
