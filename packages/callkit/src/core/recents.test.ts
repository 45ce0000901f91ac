import type { UserCallHistoryCall } from '@ringline/calling';
import { describe, expect, it } from 'vitest';
import { STRINGS, outcomeText } from '../i18n/index.js';
import { MAX_RECENT_CALLS, callBackOf, mergeRecents, toRecentCall } from './recents.js';
import { CallMediaType, type CallOutcome, type RecentCall } from './types.js';

const entry = (over: Partial<UserCallHistoryCall> = {}): UserCallHistoryCall => ({
  callID: 'call-7',
  roomID: 7,
  sponsor: 'alice',
  callType: 2,
  media: 'p2p',
  startedAt: 1_700_000_000_000,
  durationMs: 0,
  members: [
    { userID: 'alice', role: 'inviter' },
    { userID: 'bob', role: 'invitee' },
  ],
  role: 'invitee',
  missed: false,
  seen: true,
  ...over,
});

describe('toRecentCall', () => {
  it('names the other user of a 1:1 call, from either side', () => {
    expect(toRecentCall(entry(), 'bob')).toMatchObject({
      peer: 'alice',
      direction: 'incoming',
      isGroup: false,
      mediaType: CallMediaType.VIDEO,
    });
    expect(toRecentCall(entry({ role: 'inviter' }), 'alice')).toMatchObject({
      peer: 'bob',
      direction: 'outgoing',
      others: ['bob'],
    });
  });

  it('names a group call by its group and keeps everyone else for a call back', () => {
    const call = entry({
      groupID: 'team',
      callType: 1,
      members: [
        { userID: 'alice', role: 'inviter' },
        { userID: 'bob', role: 'invitee' },
        { userID: 'carol', role: 'invitee' },
      ],
    });
    const recent = toRecentCall(call, 'bob');
    expect(recent).toMatchObject({ peer: 'team', isGroup: true, others: ['alice', 'carol'] });
    expect(callBackOf(recent)).toEqual({
      kind: 'group',
      userIDList: ['alice', 'carol'],
      groupID: 'team',
      type: 1,
    });
  });

  it('calls a 1:1 peer back with the same media type', () => {
    expect(callBackOf(toRecentCall(entry({ callType: 1 }), 'bob'))).toEqual({
      kind: 'c2c',
      userID: 'alice',
      type: 1,
    });
  });
});

describe('mergeRecents', () => {
  const row = (callID: string) => ({ callID }) as RecentCall;
  it('appends older calls without repeats, keeping at most MAX_RECENT_CALLS', () => {
    expect(mergeRecents([row('a'), row('b')], [row('b'), row('c')]).map((c) => c.callID)).toEqual([
      'a',
      'b',
      'c',
    ]);
    const many = Array.from({ length: MAX_RECENT_CALLS + 5 }, (_, i) => row(`r${i}`));
    expect(mergeRecents([], many)).toHaveLength(MAX_RECENT_CALLS);
  });
});

describe('recent call texts', () => {
  const outcomes: CallOutcome[] = [
    'answered',
    'rejected',
    'busy',
    'no_answer',
    'cancelled',
    'offline',
    'answered_elsewhere',
    'left',
    'disconnected',
  ];
  it('has a text for every outcome in every language, and says "missed" for a missed call', () => {
    for (const [language, strings] of Object.entries(STRINGS)) {
      for (const outcome of outcomes) {
        expect(strings.outcomes[outcome], `${language} ${outcome}`).toMatch(/\S/);
      }
      expect(outcomeText(language as never, { missed: true, outcome: 'no_answer' })).toBe(
        strings.missedCall,
      );
    }
    expect(outcomeText('en', { missed: false, outcome: 'rejected' })).toBe('Declined');
    expect(outcomeText('zh-cn', { missed: false, outcome: 'busy' })).toBe('忙线');
    expect(outcomeText('ja_JP', { missed: false, outcome: 'answered' })).toBe('応答済み');
  });
});
