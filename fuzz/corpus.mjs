// Fixed seeds: frames that crashed or hurt the server once. Every run replays each of them first
// (before login and after), so a fix that regresses shows up in every run, fuzzed or not.
// Add a frame here when the fuzzer finds one (it prints the smallest reproducer it could make).
import { Deep, encode } from './frames.mjs';

const deepIn = (depth, build) => encode(build(new Deep(depth, 'array', '1')));

/**
 * @type {{name: string, note: string, data: string | Buffer, binary?: boolean}[]}
 */
export const SEEDS = [
  {
    name: 'invite-userID-toString',
    note: 'issue 10 #1: the error message stringified {"toString":1} and threw outside any handler',
    data: '{"id":1,"type":"invite","userIDList":[{"toString":1}],"callType":1}',
  },
  {
    name: 'invite-userID-valueOf-toString',
    note: 'issue 10 #1, the same through valueOf',
    data: '{"id":1,"type":"invite","userIDList":[{"valueOf":1,"toString":1}],"callType":1}',
  },
  {
    name: 'invite-userID-deep-array',
    note: 'issue 10 #1: an array 5,000 deep as a user ID overflowed the stack in String()',
    data: deepIn(5000, (d) => ({ id: 1, type: 'invite', userIDList: [d], callType: 1 })),
  },
  {
    name: 'signal-to-deep-array',
    note: 'issue 10 #1, through signal.to',
    data: deepIn(5000, (d) => ({ id: 1, type: 'signal', callID: 'c', to: d, data: {} })),
  },
  {
    name: 'sfuLayer-userID-deep-array',
    note: 'issue 10 #1, through sfuLayer.userID',
    data: deepIn(5000, (d) => ({ id: 1, type: 'sfuLayer', callID: 'c', userID: d, substream: 0 })),
  },
  {
    name: 'signal-notification-to-toString',
    note: 'issue 10 #1, as a notification (no id): the error goes out as an error frame',
    data: '{"type":"signal","callID":"c","to":{"toString":1},"data":{}}',
  },
  {
    name: 'signal-to-array-of-toString',
    note: 'found by the fuzzer (after login): the same, through Array.join of signal.to',
    data: '{"type":"signal","callID":"c9f4","to":[{"toString":1}],"data":{}}',
  },
  {
    name: 'deep-array-frame',
    note: 'a frame that is only nesting, 30,000 deep (JSON.parse must not recurse)',
    data: '['.repeat(30_000) + ']'.repeat(30_000),
  },
  {
    name: 'proto-user-invite',
    note: 'issue 10 #8: prototype names as user IDs',
    data: '{"id":1,"type":"invite","userIDList":["__proto__","constructor","toString"],"callType":1}',
  },
  {
    name: 'proto-key-request',
    note: 'an own __proto__ key on the request itself',
    data: '{"id":1,"type":"ping","__proto__":{"ack":1}}',
  },
  {
    name: 'frame-limit-plus-one',
    note: 'one byte over MAX_FRAME_BYTES',
    data: 'x'.repeat(64 * 1024 + 1),
  },
  {
    name: 'binary-json',
    note: 'a valid request sent as a binary frame',
    data: Buffer.from('{"id":1,"type":"ping"}'),
    binary: true,
  },
];

/**
 * Frames that hit crashes already known (issue 10 #1), for FUZZ_SKIP_KNOWN=1: leaving them out
 * lets the rest of the harness be checked against a server that still has those bugs. True when
 * a user-ID field (an `invite`'s userIDList item, `signal.to`, `sfuLayer.userID`) holds a value
 * that String() throws on, as the unfixed server's error message does.
 */
export function hitsKnownCrash(frame) {
  const text = frame.data;
  // Cheap tests first: the server reads neither binary frames nor ones over the frame limit.
  if (frame.binary || typeof text !== 'string' || text.length > 64 * 1024) return false;
  if (!text.includes('"userIDList"') && !text.includes('"to"') && !text.includes('"userID"'))
    return false;
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    return false;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const throws = (x) => {
    if (x === null || typeof x !== 'object') return false;
    try {
      String(x);
      return false;
    } catch {
      return true;
    }
  };
  return (
    (Array.isArray(v.userIDList) && v.userIDList.some(throws)) || throws(v.to) || throws(v.userID)
  );
}
