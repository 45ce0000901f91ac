/**
 * Group calls through the kit's core against the real server with a real Janus (auto mode) and
 * the SDK's fake media: statuses, ringing tiles and participants as the views see them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  makeGroup,
  startTestServerWithSfu,
  type TestServer,
} from '../../../calling/src/test-support/server.test-support.js';
import { testKit, type TestKit } from './testKit.test-support.js';
import { CallMediaType, CallRole, STATUS } from './types.js';

let ts: TestServer;
const kits: TestKit[] = [];
let n = 0;

beforeAll(async () => {
  ts = await startTestServerWithSfu();
}, 30_000);
afterAll(async () => {
  await ts?.close();
});
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.kit.destroyed()));
});

/** Three logged-in kits with user IDs unique to the test. */
async function three(): Promise<[TestKit, TestKit, TestKit]> {
  const made = await Promise.all(
    ['alice', 'bob', 'carol'].map((name) => testKit(ts, `${name}_${++n}`)),
  );
  kits.push(...made);
  return made as [TestKit, TestKit, TestKit];
}

const ids = (k: { remotes: { userID: string; ringing: boolean }[] }) =>
  k.remotes.map((p) => `${p.userID}${p.ringing ? ' (ringing)' : ''}`);

describe('a group call', () => {
  it('dialing-group -> calling-group-video; a rejecting invitee leaves the grid with a toast', async () => {
    const [alice, bob, carol] = await three();
    await alice.kit.groupCall({ userIDList: [bob.userID, carol.userID], type: 2 });
    expect(alice.kit.state).toMatchObject({
      status: STATUS.DIALING_GROUP,
      role: CallRole.CALLER,
      isGroup: true,
      mediaType: CallMediaType.VIDEO,
    });
    expect(ids(alice.kit.state)).toEqual([`${bob.userID} (ringing)`, `${carol.userID} (ringing)`]);
    const b = await bob.status(STATUS.BE_INVITED);
    expect(b.isGroup).toBe(true);
    expect(ids(b)).toEqual([alice.userID, `${carol.userID} (ringing)`]);
    await carol.status(STATUS.BE_INVITED);

    await bob.kit.accept();
    await alice.status(STATUS.CALLING_GROUP_VIDEO);
    await bob.status(STATUS.CALLING_GROUP_VIDEO);
    await carol.kit.reject();
    const a = await alice.until(
      (s) => s.remotes.length === 1 && s.toasts.some((t) => t.kind === 'rejected'),
      'carol gone with a toast',
    );
    expect(ids(a)).toEqual([bob.userID]);
    expect(a.toasts).toEqual([expect.objectContaining({ kind: 'rejected', userID: carol.userID })]);
    await bob.until((s) => !s.remotes.some((p) => p.userID === carol.userID), 'carol gone');
    // The call goes on for the two left.
    expect(alice.kit.state.status).toBe(STATUS.CALLING_GROUP_VIDEO);

    await alice.kit.hangup();
    await bob.kit.hangup();
    await bob.status(STATUS.IDLE);
    expect(alice.statuses).toEqual([
      'idle->dialing-group',
      'dialing-group->calling-group-video',
      'calling-group-video->idle',
    ]);
    expect(bob.statuses).toEqual([
      'idle->be-invited',
      'dialing-group->calling-group-video',
      'calling-group-video->idle',
    ]);
    expect(carol.statuses).toEqual(['idle->be-invited', 'dialing-group->idle']);
    for (const k of [alice, bob, carol]) {
      expect(k.callbacks).toEqual(['beforeCalling:2', 'afterCalling']);
    }
  });

  it('inviting a third person turns a one-to-one call into a group call', async () => {
    const [alice, bob, carol] = await three();
    await alice.kit.call({ userID: bob.userID, type: CallMediaType.AUDIO });
    await bob.status(STATUS.BE_INVITED);
    await bob.kit.accept();
    await alice.status(STATUS.CALLING_C2C_AUDIO);

    await alice.kit.inviteUser({ userIDList: [carol.userID] });
    expect(alice.kit.state.status).toBe(STATUS.CALLING_GROUP_AUDIO);
    expect(ids(alice.kit.state)).toEqual([bob.userID, `${carol.userID} (ringing)`]);
    await carol.status(STATUS.BE_INVITED);
    await carol.kit.accept();
    await carol.status(STATUS.CALLING_GROUP_AUDIO);
    await alice.until(
      (s) => s.remotes.some((p) => p.userID === carol.userID && !p.ringing),
      'carol joined',
    );
    await bob.until((s) => s.remotes.length === 2, 'carol in the grid');
    expect(alice.statuses).toEqual([
      'idle->dialing-c2c',
      'dialing-c2c->calling-c2c-audio',
      'calling-c2c-audio->calling-group-audio',
    ]);
    expect(bob.statuses).toEqual([
      'idle->be-invited',
      'dialing-c2c->calling-c2c-audio',
      'calling-c2c-audio->calling-group-audio',
    ]);
    // Carol's invitation names only her, but accepting tells her of both members at once, so
    // she goes straight into the group call.
    expect(carol.statuses).toEqual(['idle->be-invited', 'dialing-group->calling-group-audio']);
  });

  it('a third person invited while a one-to-one call still rings makes it a group call', async () => {
    const [alice, bob, carol] = await three();
    await alice.kit.call({ userID: bob.userID, type: CallMediaType.AUDIO });
    await bob.status(STATUS.BE_INVITED);
    await alice.kit.inviteUser({ userIDList: [carol.userID] });
    expect(alice.kit.state.isGroup).toBe(true);
    await carol.status(STATUS.BE_INVITED);

    await bob.kit.accept();
    await alice.status(STATUS.CALLING_GROUP_AUDIO);
    // TUICallKit reports the connect from its call status with isGroup already set: dialing-group.
    expect(alice.statuses).toEqual(['idle->dialing-c2c', 'dialing-group->calling-group-audio']);
  });

  it('joinInGroupCall / join: reported as dialing-group -> calling-group-*, as TUICallKit', async () => {
    const [alice, bob, carol] = await three();
    const groupID = `g_${n}`;
    await makeGroup(ts, groupID, [alice.userID, bob.userID, carol.userID]);
    await alice.kit.groupCall({ userIDList: [bob.userID], type: CallMediaType.VIDEO, groupID });
    await bob.status(STATUS.BE_INVITED);
    await bob.kit.accept();
    await alice.status(STATUS.CALLING_GROUP_VIDEO);

    await carol.kit.join({ groupID, type: CallMediaType.VIDEO });
    await carol.status(STATUS.CALLING_GROUP_VIDEO);
    expect(carol.statuses).toEqual(['dialing-group->calling-group-video']);
    expect(carol.kit.state).toMatchObject({ role: CallRole.CALLEE, isGroup: true });
  });
});
