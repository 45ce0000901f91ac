/**
 * Compatibility with TUICallKit web (@tencentcloud/call-uikit-react 3.3.8 / 4.0.12 and
 * @tencentcloud/call-uikit-vue 3.3.10 / 4.0.12), written from their type declarations and source:
 * the exports of each entry with their values, every public method of TUICallKitServer, and the
 * status/callback sequences their code produces — checked against ours on the real server (the
 * SDK's fake media backend: real signalling, no frames).
 */
import TRTCCalling from '@ringline/calling';
import { ServerErrorCode } from '@ringline/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeMediaBackend } from '../../../calling/src/test-support/fakeMedia.test-support.js';
import {
  Network,
  startTestServer,
  type TestServer,
} from '../../../calling/src/test-support/server.test-support.js';
import type { WebSocketConstructor } from '../../../calling/src/signal/SignalClient.js';
import { createLogger } from '../../../calling/src/util/logger.js';
import * as reactEntry from '../react/index.js';
import * as vueEntry from '../vue/index.js';
import { REACT_DEFAULTS } from '../react/TUICallKit.js';
import { OPTION_DEFAULTS } from '../core/initialState.js';
import { CallKitServer } from '../core/CallKitServer.js';
import { originOfScript } from '../core/scriptOrigin.js';
import { testKit, type TestKit } from '../core/testKit.test-support.js';
import { STATUS } from '../core/types.js';
import { errorText, toastText } from '../i18n/index.js';
import packageJson from '../../package.json' with { type: 'json' };

/** The values of Tencent's constants, copied from its d.ts (types/TUICallService/const/call.d.ts). */
const TENCENT_CONSTANTS = {
  STATUS: {
    IDLE: 'idle',
    BE_INVITED: 'be-invited',
    DIALING_C2C: 'dialing-c2c',
    DIALING_GROUP: 'dialing-group',
    CALLING_C2C_AUDIO: 'calling-c2c-audio',
    CALLING_C2C_VIDEO: 'calling-c2c-video',
    CALLING_GROUP_AUDIO: 'calling-group-audio',
    CALLING_GROUP_VIDEO: 'calling-group-video',
  },
  CallMediaType: { UNKNOWN: 0, AUDIO: 1, VIDEO: 2 },
  CallRole: { UNKNOWN: 'unknown', CALLEE: 'callee', CALLER: 'caller' },
  TUICallType: { AUDIO_CALL: 1, VIDEO_CALL: 2 },
  VideoResolution: { RESOLUTION_480P: '480p', RESOLUTION_720P: '720p', RESOLUTION_1080P: '1080p' },
  VideoDisplayMode: { CONTAIN: 'contain', COVER: 'cover', FILL: 'fill' },
  LayoutMode: { LocalInLargeView: 'local', RemoteInLargeView: 'remote' },
  FeatureButton: {
    Camera: 'camera',
    Microphone: 'microphone',
    SwitchCamera: 'switchCamera',
    InviteUser: 'inviteUser',
  },
  StoreName: { CALL: 'call', CUSTOM: 'custom' },
} as const;

/** Every public method of TUICallService in 4.0.12's d.ts that an app calls (not the internals). */
const TENCENT_METHODS = [
  'init',
  'destroyed',
  'call',
  'groupCall',
  'inviteUser',
  'joinInGroupCall',
  'calls',
  'join',
  'getTUICallEngineInstance',
  'setLogLevel',
  'setLanguage',
  'enableFloatWindow',
  'setSelfInfo',
  'setCallingBell',
  'enableMuteMode',
  'hideFeatureButton',
  'setLocalViewBackgroundImage',
  'setRemoteViewBackgroundImage',
  'setLayoutMode',
  'setCameraDefaultState',
  'accept',
  'hangup',
  'reject',
  'openCamera',
  'closeCamera',
  'openMicrophone',
  'closeMicrophone',
  'unMuteSpeaker',
  'muteSpeaker',
  'switchScreen',
  'switchCallMediaType',
  'switchCamera',
  'setSoundMode',
  'switchDevice',
  'getDeviceList',
  'setCallback',
  'toggleMinimize',
  'setVideoDisplayMode',
  'setVideoResolution',
] as const;

describe('the entries export what TUICallKit’s do, with the same values', () => {
  for (const [name, entry] of [
    ['@ringline/callkit/react', reactEntry],
    ['@ringline/callkit/vue', vueEntry],
  ] as const) {
    it(`${name}: TUICallKit, TUICallKitServer, Version, t and the constants`, () => {
      const exports = entry as unknown as Record<string, unknown>;
      for (const [constant, values] of Object.entries(TENCENT_CONSTANTS)) {
        expect(exports[constant], constant).toEqual(values);
      }
      expect(typeof exports.TUICallKit).toMatch(/function|object/);
      expect(exports.TUICallKitServer).toBeInstanceOf(CallKitServer);
      expect(exports.Version).toBe(packageJson.version);
      expect(typeof exports.t).toBe('function');
    });
  }

  it('both entries share the one TUICallKitServer of the page', () => {
    expect(reactEntry.TUICallKitServer).toBe(vueEntry.TUICallKitServer);
  });

  it('the Vue entry has install(app) registering <TUICallKit>, as TUICallKit’s', () => {
    const registered: string[] = [];
    vueEntry.install({ component: (tag) => registered.push(tag) });
    expect(registered).toEqual(['TUICallKit']);
  });

  it('t() translates the kit’s texts in the kit’s language and returns unknown keys as given', () => {
    expect(reactEntry.t('accept')).toBe('Accept');
    expect(reactEntry.t('no such text')).toBe('no such text');
  });

  it('allowedMinimized defaults to true in React and false in Vue, as in TUICallKit', () => {
    expect(REACT_DEFAULTS.allowedMinimized).toBe(true);
    expect(vueEntry.TUICallKit.props.allowedMinimized.default).toBe(false);
    expect(OPTION_DEFAULTS.allowedMinimized).toBe(false);
  });

  it('TUICallKitServer has every public method of TUICallKit’s', () => {
    const server = reactEntry.TUICallKitServer as unknown as Record<string, unknown>;
    const missing = TENCENT_METHODS.filter((m) => typeof server[m] !== 'function');
    expect(missing).toEqual([]);
  });
});

describe('the error toast text', () => {
  it('says what went wrong in the kit’s language, the number only for an unlisted code', () => {
    expect(errorText('en', ServerErrorCode.CANNOT_CALL_SELF)).toBe('You cannot call yourself');
    expect(errorText('zh-cn', ServerErrorCode.CANNOT_CALL_SELF)).toBe('不能呼叫自己');
    expect(errorText('ja_JP', ServerErrorCode.CANNOT_CALL_SELF)).toBe('自分自身には発信できません');
    expect(errorText('en', 60005)).toMatch(/access was denied/);
    expect(errorText('en', 12345)).toBe('Call failed (error 12345)');
    expect(
      toastText('zh-cn', { id: 1, kind: 'error', code: ServerErrorCode.GROUP_NOT_FOUND }),
    ).toBe('群组不存在');
  });
});

describe('the default server of a kit loaded by script tag', () => {
  it('is the origin of the script’s src', () => {
    expect(originOfScript({ src: 'https://calls.example.com/sdk/callkit.js' })).toBe(
      'https://calls.example.com',
    );
    expect(originOfScript(null)).toBeUndefined(); // an ES module: no currentScript
    expect(originOfScript({ src: '' })).toBeUndefined(); // an inline script
  });
});

// ---- on the real server --------------------------------------------------------------------

let ts: TestServer;
const kits: TestKit[] = [];
const extra: CallKitServer[] = [];
let n = 0;

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  await ts.close();
});
afterEach(async () => {
  await Promise.all([
    ...kits.splice(0).map((k) => k.kit.destroyed()),
    ...extra.splice(0).map((k) => k.destroyed()),
  ]);
});

interface Logged extends TestKit {
  /** statusChanged and every callback, interleaved in the order the app heard them. */
  log: string[];
  kickedEvents: unknown[];
}

async function user(name: string): Promise<Logged> {
  const k = await testKit(ts, `${name}_${++n}`);
  kits.push(k);
  const log: string[] = [];
  const kickedEvents: unknown[] = [];
  k.kit.setCallback({
    beforeCalling: () => log.push('beforeCalling'),
    afterCalling: () => log.push('afterCalling'),
    kickedOut: (event) => {
      kickedEvents.push(event);
      log.push('kickedOut');
    },
    statusChanged: ({ oldStatus, newStatus }) => log.push(`${oldStatus}->${newStatus}`),
  });
  return { ...k, log, kickedEvents };
}

async function ringing(type: 1 | 2 = 2, timeout?: number) {
  const alice = await user('alice');
  const bob = await user('bob');
  await alice.kit.calls({ userIDList: [bob.userID], type, ...(timeout ? { timeout } : {}) });
  await bob.status(STATUS.BE_INVITED);
  return { alice, bob };
}

async function inCall() {
  const { alice, bob } = await ringing();
  await bob.kit.accept();
  await alice.status(STATUS.CALLING_C2C_VIDEO);
  await bob.status(STATUS.CALLING_C2C_VIDEO);
  return { alice, bob };
}

describe('status and callback sequences, as TUICallKit’s code produces them', () => {
  it('a remote hang-up: afterCalling, then statusChanged(→idle); the one who hung up: the reverse', async () => {
    const { alice, bob } = await inCall();
    await bob.kit.hangup();
    await alice.status(STATUS.IDLE);
    expect(alice.log).toEqual([
      'idle->dialing-c2c',
      'beforeCalling',
      'dialing-c2c->calling-c2c-video',
      'afterCalling',
      'calling-c2c-video->idle',
    ]);
    // The callee's connect is reported from its call status: dialing-c2c, not be-invited.
    expect(bob.log).toEqual([
      'beforeCalling',
      'idle->be-invited',
      'dialing-c2c->calling-c2c-video',
      'calling-c2c-video->idle',
      'afterCalling',
    ]);
  });

  it('the callee when the caller cancels: afterCalling, then dialing-c2c→idle', async () => {
    const { alice, bob } = await ringing();
    await alice.kit.hangup();
    await bob.status(STATUS.IDLE);
    expect(bob.log).toEqual([
      'beforeCalling',
      'idle->be-invited',
      'afterCalling',
      'dialing-c2c->idle',
    ]);
  });

  it('the callee when nobody answers: afterCalling, then dialing-c2c→idle', async () => {
    const { bob } = await ringing(2, 1);
    await bob.status(STATUS.IDLE);
    expect(bob.log).toEqual([
      'beforeCalling',
      'idle->be-invited',
      'afterCalling',
      'dialing-c2c->idle',
    ]);
  });

  it('the callee who rejects: dialing-c2c→idle', async () => {
    const { alice, bob } = await ringing();
    await bob.kit.reject();
    await alice.status(STATUS.IDLE);
    expect(bob.log.slice(0, 3)).toEqual(['beforeCalling', 'idle->be-invited', 'dialing-c2c->idle']);
  });

  // Group sequences (dialing-group → calling-group-*, a ringing invitee's dialing-group → idle)
  // need the SFU: core/CallKitServer.group.test.ts checks them against a real Janus.

  it('kickedOut(event) comes first, then statusChanged(→idle)', async () => {
    const { bob } = await inCall();
    const again = await testKit(ts, bob.userID);
    kits.push(again);
    await bob.status(STATUS.IDLE);
    await bob.until((s) => s.toasts.some((t) => t.kind === 'kicked'), 'kicked toast');
    const kicked = bob.log.indexOf('kickedOut');
    expect(kicked).toBeGreaterThan(-1);
    expect(bob.log.indexOf('calling-c2c-video->idle')).toBeGreaterThan(kicked);
    expect(bob.kickedEvents).toHaveLength(1);
    expect(typeof bob.kickedEvents[0]).toBe('object');
  });

  it('switchCallMediaType: statusChanged only on the side that switched', async () => {
    const { alice, bob } = await inCall();
    await alice.kit.switchCallMediaType();
    await bob.status(STATUS.CALLING_C2C_AUDIO);
    expect(alice.log.at(-1)).toBe('calling-c2c-video->calling-c2c-audio');
    expect(bob.log).not.toContain('calling-c2c-video->calling-c2c-audio');
    // Audio → video is not offered by TUICallKit: nothing happens.
    await alice.kit.switchCallMediaType();
    expect(alice.kit.state.status).toBe(STATUS.CALLING_C2C_AUDIO);
  });
});

describe('TUICallKitServer’s 4.x API', () => {
  it('calls(): one user is a 1:1 call, several a group call', async () => {
    const { alice } = await ringing();
    expect(alice.kit.state).toMatchObject({ status: STATUS.DIALING_C2C, isGroup: false });
  });

  it('join({callId}) is refused with 50100; join({groupID}) joins as an audio call by default', async () => {
    const alice = await user('alice');
    await expect(alice.kit.join({ callId: 'x' })).rejects.toMatchObject({
      code: ServerErrorCode.NOT_SUPPORTED,
    });
    expect(alice.kit.state.status).toBe(STATUS.IDLE);
  });

  it('init({sdkAppID}) as a numeric string logs in', async () => {
    const k = await testKit(ts, `dora_${++n}`, { init: false });
    kits.push(k);
    await k.kit.init({
      userID: k.userID,
      userSig: ts.sig(k.userID),
      sdkAppID: String(ts.server.sdkAppID),
      server: ts.server.url,
    });
    expect(k.kit.getTUICallEngineInstance()).not.toBeNull();
    await expect(
      k.kit.init({ userID: k.userID, userSig: 'x', SDKAppID: 'abc' }),
    ).rejects.toMatchObject({ code: ServerErrorCode.INVALID_FIELD });
  });

  it('without server, init connects to the origin of the script the kit came from', async () => {
    const userID = `eve_${++n}`;
    const servers: (string | undefined)[] = [];
    const network = new Network();
    const kit = new CallKitServer({
      scriptOrigin: ts.server.url,
      logger: createLogger('silent'),
      createCalling: (options) => {
        servers.push(options.server);
        return new TRTCCalling(options, {
          media: new FakeMediaBackend(),
          WebSocket: network.WebSocket as unknown as WebSocketConstructor,
          logger: createLogger('silent'),
        });
      },
    });
    extra.push(kit);
    await kit.init({ userID, userSig: ts.sig(userID), SDKAppID: ts.server.sdkAppID });
    expect(servers).toEqual([ts.server.url]);
  });

  it('getTUICallEngineInstance: null before init; on(TUICallEvent name) hears the SDK’s event', async () => {
    const fresh = new CallKitServer({ logger: createLogger('silent') });
    expect(fresh.getTUICallEngineInstance()).toBeNull();
    const alice = await user('alice');
    const bob = await user('bob');
    const engine = bob.kit.getTUICallEngineInstance()!;
    expect(engine.tim).toBeNull();
    const joined: unknown[] = [];
    engine.on('onUserJoin', (event) => joined.push(event));
    expect(() => engine.on('onNoSuchEvent', () => {})).toThrow();
    await alice.kit.calls({ userIDList: [bob.userID], type: 1 });
    await bob.status(STATUS.BE_INVITED);
    await engine.accept();
    await bob.until(() => joined.length > 0, 'onUserJoin');
    expect(joined[0]).toMatchObject({ userID: alice.userID });
    expect(await engine.getDeviceList('camera')).toHaveLength(2);
  });

  it('camera, microphone and speaker controls change the state and reach the peer', async () => {
    const { alice, bob } = await inCall();
    await alice.kit.closeMicrophone();
    await alice.kit.closeCamera();
    expect(alice.kit.state.self).toMatchObject({ audio: false, video: false });
    await bob.until(
      (s) => s.remotes.some((p) => p.userID === alice.userID && !p.audio && !p.video),
      'alice muted',
    );
    await alice.kit.openMicrophone();
    await alice.kit.openCamera('ignored-view-id');
    expect(alice.kit.state.self).toMatchObject({ audio: true, video: true });
    alice.kit.muteSpeaker();
    expect(alice.kit.state.speakerMuted).toBe(true);
    alice.kit.unMuteSpeaker();
    expect(alice.kit.state.speakerMuted).toBe(false);
  });

  it('switchScreen, toggleMinimize, display mode, resolution, sound mode and log level', async () => {
    const { alice, bob } = await inCall();
    alice.kit.switchScreen(alice.userID);
    expect(alice.kit.state.layout).toBe('local');
    alice.kit.switchScreen(bob.userID);
    expect(alice.kit.state.layout).toBe('remote');
    alice.kit.toggleMinimize();
    expect(alice.kit.state.minimized).toBe(true);
    alice.kit.toggleMinimize();
    expect(alice.kit.state.minimized).toBe(false);
    alice.kit.setVideoDisplayMode('contain');
    expect(alice.kit.state.options.videoDisplayMode).toBe('contain');
    await alice.kit.setVideoResolution('720p');
    const video = alice.media.tracks.find((t) => t.kind === 'video' && t.readyState === 'live');
    expect(video?.constraints).toMatchObject({ width: { ideal: 1280 }, height: { ideal: 720 } });
    alice.kit.setSoundMode('ear');
    expect(() => alice.kit.setSoundMode('loud' as never)).toThrow();
    alice.kit.setLogLevel(4);
    expect(() => alice.kit.setLogLevel(9 as never)).toThrow();
    await alice.kit.switchDevice({ deviceType: 'camera', deviceId: 'cam-2' });
    await expect(
      alice.kit.switchDevice({ deviceType: 'printer', deviceId: 'x' }),
    ).rejects.toMatchObject({ code: ServerErrorCode.INVALID_FIELD });
  });

  it('one error, one toast: a group call to an unknown group shows a single error toast', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await expect(
      alice.kit.calls({ userIDList: [bob.userID], type: 2, chatGroupID: 'no_such_group' }),
    ).rejects.toBeDefined();
    const errors = alice.kit.state.toasts.filter((t) => t.kind === 'error');
    expect(errors).toHaveLength(1);
    expect(toastText('en', errors[0]!)).not.toMatch(/error \d+/);
  });
});
