// The fuzzer's frames: fast-check arbitraries, most of them derived from the protocol's own TypeBox
// schemas (ClientRequestSchemas), so that a new request type or field is fuzzed without edits here.
// Each frame is `{ kind, data, binary }`: `data` is the exact text (or bytes) put on the wire.
//
// Values nested thousands of levels deep cannot go through JSON.stringify (it recurses and runs
// out of stack, in the fuzzer as it would in the server), so a generated value may hold a `Deep`
// marker, which `encode` writes out as text.
import fc from 'fast-check';
import { Kind, OptionalKind } from '@sinclair/typebox';
import { ClientRequestSchemas } from '@ringline/protocol/schema';
import { MAX_FRAME_BYTES, USER_ID_PATTERN } from '@ringline/protocol';

/** A value nested `depth` levels deep, written out by `encode` (never built as objects). */
export class Deep {
  /**
   * @param {number} depth
   * @param {'array' | 'object' | 'mixed'} shape
   * @param {string} leaf JSON text at the bottom
   */
  constructor(depth, shape, leaf) {
    this.depth = depth;
    this.shape = shape;
    this.leaf = leaf;
  }
  /** @returns {string} */
  text() {
    const d = this.depth;
    if (this.shape === 'array') return '['.repeat(d) + this.leaf + ']'.repeat(d);
    if (this.shape === 'object') return '{"a":'.repeat(d) + this.leaf + '}'.repeat(d);
    const half = Math.floor(d / 2);
    return '[{"a":'.repeat(half) + this.leaf + '}]'.repeat(half);
  }
}

/** JSON text for `value`, with every `Deep` marker written out in place. */
export function encode(value) {
  /** @type {Deep[]} */
  const deep = [];
  const text = JSON.stringify(value, (_key, v) => {
    if (v instanceof Deep) {
      deep.push(v);
      return `@@deep${deep.length - 1}@@`;
    }
    return v;
  });
  if (deep.length === 0) return text;
  return text.replace(/"@@deep(\d+)@@"/g, (_m, i) => deep[Number(i)].text());
}

/** A copy of `base` with `key` as an own property, even `__proto__` (`{[key]: v}` would set the prototype). */
function ownKey(key, value, base = {}) {
  const o = { ...base };
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  return o;
}

/** Names that are properties of every plain object: keys and user IDs that trip naive lookups. */
export const PROTO_NAMES = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'toLocaleString',
  '__defineGetter__',
  'toJSON',
];

/**
 * What the generators draw IDs from: the fuzz users' IDs, and call and invitation IDs seen in the
 * server's answers, so that requests name real things and reach past "not found".
 */
export class Pools {
  constructor() {
    /** @type {string[]} */
    this.users = [];
    /** @type {string[]} */
    this.ids = [];
    /** @type {string[]} */
    this.groups = [];
    /** Valid userSigs by user ID (login frames with them succeed, or kick). */
    /** @type {Map<string, string>} */
    this.sigs = new Map();
    this.sdkAppID = 1;
  }
  /** Remembers a call or invitation ID (a bounded ring). */
  addID(id) {
    if (typeof id !== 'string' || id.length > 64) return;
    if (this.ids.length < 512) this.ids.push(id);
    else this.ids[(Math.random() * 512) | 0] = id;
  }
}

const pick = (list, i, fallback) => (list.length ? list[i % list.length] : fallback);

/** @param {Pools} pools */
export function frameArbitraries(pools) {
  const userIdRe = new RegExp(USER_ID_PATTERN);
  const protoName = fc.constantFrom(...PROTO_NAMES);
  const realUser = fc.nat().map((i) => pick(pools.users, i, 'nobody'));
  const knownID = fc.nat().map((i) => pick(pools.ids, i, 'no-such-id'));
  const groupID = fc.nat().map((i) => pick(pools.groups, i, 'no-such-group'));
  const validUserID = fc.oneof(
    { weight: 6, arbitrary: realUser },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/) },
    { weight: 2, arbitrary: protoName.filter((n) => userIdRe.test(n)) },
  );

  /** Strings that are wrong in interesting ways. */
  const hostileString = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        '\u0000',
        '\ud800',
        '\udfff',
        '\u202e',
        'null',
        '0',
        '-1',
        '1e999',
      ),
    },
    { weight: 3, arbitrary: protoName },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
    // Just over the schemas' lengths (32, 64, 256, 1024, 4096).
    { weight: 1, arbitrary: fc.constantFrom(33, 65, 257, 1025, 4097).map((n) => 'x'.repeat(n)) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 100 }).map((n) => '\u{1F600}'.repeat(n)) },
  );
  /** Objects whose keys are properties of every object, or override conversion to text. */
  const protoObject = fc.oneof(
    fc.tuple(protoName, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => ownKey(k, v)),
    fc
      .constantFrom(
        '{"toString":1}',
        '{"valueOf":1,"toString":1}',
        '{"toString":{}}',
        '{"__proto__":{"polluted":true}}',
        '{"constructor":{"prototype":{"polluted":true}}}',
        '{"toJSON":1}',
        '[{"toString":1}]',
        '{"length":1e9}',
      )
      .map((t) => JSON.parse(t)),
  );
  const deep = fc
    .record({
      depth: fc.oneof(
        { weight: 12, arbitrary: fc.integer({ min: 1000, max: 12_000 }) },
        { weight: 4, arbitrary: fc.integer({ min: 12_000, max: 30_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 30_000, max: 100_000 }) },
      ),
      shape: fc.constantFrom('array', 'object', 'mixed'),
      leaf: fc.constantFrom('1', '"x"', 'null', '{"toString":1}', '[]', '{}'),
    })
    .map(({ depth, shape, leaf }) => new Deep(depth, shape, leaf));
  /** A value of any wrong kind for any field. */
  const hostile = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, -0, 1e308, 2 ** 53, 2 ** 64),
    },
    { weight: 8, arbitrary: hostileString },
    { weight: 6, arbitrary: protoObject },
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 2, arbitrary: fc.array(protoObject, { maxLength: 3 }) },
    // Shallower than the deep-nesting kind: deep enough to overflow a recursive walk (~5,000).
    {
      weight: 1,
      arbitrary: fc.integer({ min: 100, max: 6000 }).map((d) => new Deep(d, 'array', '1')),
    },
  );

  /** A valid value for `schema` (`key` names the field, to pick real IDs for it). */
  function valid(schema, key) {
    if (schema.const !== undefined) return fc.constant(schema.const);
    switch (schema[Kind]) {
      case 'Literal':
        return fc.constant(schema.const);
      case 'String':
        if (schema.pattern === USER_ID_PATTERN) return validUserID;
        if (key === 'callID' || key === 'inviteID' || key === 'sessionID')
          return fc.oneof({ weight: 4, arbitrary: knownID }, fc.uuid());
        if (key === 'groupID')
          return fc.oneof(
            { weight: 3, arbitrary: groupID },
            fc.string({ minLength: 1, maxLength: 64 }),
          );
        if (key === 'userSig')
          return fc.oneof(
            fc.nat().map((i) => pick([...pools.sigs.values()], i, 'x')),
            fc.stringMatching(/^[A-Za-z0-9*_-]{1,400}$/),
          );
        if (key === 'userID') return validUserID;
        return fc.string({
          minLength: schema.minLength ?? 0,
          maxLength: Math.min(schema.maxLength ?? 64, 200),
        });
      case 'Integer':
      case 'Number':
        if (key === 'sdkAppID')
          return fc.oneof(fc.constant(pools.sdkAppID), fc.integer({ min: 1, max: 0xffffffff }));
        return fc.integer({ min: schema.minimum ?? -(2 ** 31), max: schema.maximum ?? 2 ** 31 });
      case 'Boolean':
        return fc.boolean();
      case 'Null':
        return fc.constant(null);
      case 'Union':
        return fc.oneof(...schema.anyOf.map((s) => valid(s, key)));
      case 'Array':
        return fc.array(valid(schema.items, key), {
          minLength: schema.minItems ?? 0,
          maxLength: Math.min(schema.maxItems ?? 8, 8),
        });
      case 'Object':
        return object(schema, (s, k) => valid(s, k));
      default:
        return fc.jsonValue({ maxDepth: 2 });
    }
  }

  /** `schema`'s object, each field drawn from `field(schema, key)`; optional fields sometimes left out. */
  function object(schema, field) {
    const required = new Set(schema.required ?? []);
    const model = {};
    for (const [k, s] of Object.entries(schema.properties)) model[k] = field(s, k);
    const optional = Object.keys(schema.properties).filter(
      (k) => !required.has(k) || schema.properties[k][OptionalKind],
    );
    return fc.record(model, { requiredKeys: [...required].filter((k) => !optional.includes(k)) });
  }

  /** Like `valid`, but each field (at any level) is hostile with probability 1 in `odds`. */
  function mutated(schema, key, odds) {
    const inner = (() => {
      switch (schema[Kind]) {
        case 'Object':
          // `type` and `id` stay valid: spoiling them is other kinds' work, and a frame that is
          // refused for them never reaches the fields below.
          return object(schema, (s, k) =>
            k === 'type' || k === 'id' ? valid(s, k) : mutated(s, k, odds),
          );
        case 'Array':
          return fc.array(mutated(schema.items, key, odds), {
            minLength: schema.minItems ?? 0,
            maxLength: Math.min(schema.maxItems ?? 8, 20),
          });
        default:
          return valid(schema, key);
      }
    })();
    // The request itself stays an object (the malformed kinds send non-objects).
    if (key === 'type' || key === undefined) return inner;
    return fc.oneof({ weight: odds - 1, arbitrary: inner }, { weight: 1, arbitrary: hostile });
  }

  const schemas = Object.values(ClientRequestSchemas);
  const fieldsOf = (schema) =>
    Object.keys(schema.properties).filter((k) => k !== 'id' && k !== 'type');
  const requestType = fc.constantFrom(...Object.keys(ClientRequestSchemas));
  const anySchema = fc.constantFrom(...schemas);
  const validRequest = fc.oneof(...schemas.map((s) => valid(s)));
  const hostileRequest = fc.oneof(...schemas.map((s) => mutated(s, undefined, 4)));
  const text = (arb) => arb.map((v) => ({ data: encode(v), binary: false }));

  /** Extra keys the schemas forbid: prototype names, to be sent as own keys of the request. */
  const withProtoKeys = fc
    .tuple(validRequest, fc.array(fc.tuple(protoName, hostile), { minLength: 1, maxLength: 3 }))
    .map(([req, extra]) => {
      let out = { ...req };
      for (const [k, v] of extra) out = ownKey(k, v, out);
      return out;
    });
  /** A valid request whose user-ID fields (or IDs) are prototype names. */
  const protoIDs = fc.tuple(protoName, fc.nat(), fc.nat()).map(([name, i, which]) => {
    const user = name;
    const forms = [
      { id: i, type: 'invite', userIDList: [user], callType: 1 },
      { id: i, type: 'invite', userIDList: [user, pick(pools.users, i, 'bob')], callType: 2 },
      { id: i, type: 'signal', callID: pick(pools.ids, i, name), to: user, data: {} },
      { id: i, type: 'sfuLayer', callID: name, userID: user, substream: 0 },
      { id: i, type: 'accept', inviteID: name },
      { id: i, type: 'hangup', callID: name },
      { id: i, type: 'join', groupID: name, callType: 1 },
      {
        id: i,
        type: 'login',
        sdkAppID: pools.sdkAppID,
        userID: user,
        userSig: pools.sigs.get(user) ?? 'x',
      },
      { id: i, type: name },
    ];
    return forms[which % forms.length];
  });

  /** Where a deep value goes: a user-ID field, any field, or the frame itself. */
  const deepFrame = fc.tuple(deep, fc.nat(), fc.nat()).map(([d, i, where]) => {
    const forms = [
      { id: i, type: 'invite', userIDList: [d], callType: 1 },
      { id: i, type: 'signal', callID: pick(pools.ids, i, 'c'), to: d, data: {} },
      { id: i, type: 'sfuLayer', callID: 'c', userID: d, substream: 0 },
      { id: i, type: 'login', sdkAppID: pools.sdkAppID, userID: d, userSig: 'x' },
      { id: i, type: 'media', callID: d, audio: true, video: false },
      { id: d, type: 'ping' },
      { id: i, type: d },
      { id: i, type: 'signal', callID: 'c', to: 'bob', data: { description: d } },
      d,
    ];
    return forms[where % forms.length];
  });

  const bytes = (min, max) =>
    fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
  /** Byte sequences that are not UTF-8: stray continuation bytes, overlong forms, surrogates, >U+10FFFF. */
  const badUtf8 = fc.constantFrom(
    [0xff],
    [0xc0, 0xaf],
    [0xe0, 0x80, 0xaf],
    [0xed, 0xa0, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0x80],
    [0xc3],
    [0xf0, 0x9f, 0x98],
  );

  /** Frames by kind. Each yields `{ data, binary }`. */
  const kinds = {
    valid: text(validRequest),
    'hostile-values': text(hostileRequest),
    'wrong-types': text(
      fc.tuple(anySchema, fc.nat()).chain(([schema, id]) =>
        fc
          .dictionary(
            // Requests without fields of their own (logout) get a field they do not have.
            fc.constantFrom(...fieldsOf(schema), 'extra'),
            hostile,
            { maxKeys: 6 },
          )
          .map((fields) => ({ id, type: schema.properties.type.const, ...fields })),
      ),
    ),
    'unknown-type': text(
      fc
        .tuple(
          fc.nat(),
          fc.oneof(
            hostile,
            fc.string({ maxLength: 20 }),
            requestType.map((t) => t.toUpperCase()),
          ),
        )
        .map(([id, type]) => ({ id, type })),
    ),
    'bad-id': text(
      fc
        .tuple(
          validRequest,
          fc.oneof(
            hostile,
            fc.constantFrom(-1, 1.5, '1', 2 ** 53, Number.MAX_SAFE_INTEGER + 2, -0, 1e21),
          ),
        )
        .map(([req, id]) => ({ ...req, id })),
    ),
    'malformed-json': fc
      .oneof(
        fc.constantFrom(
          '',
          ' ',
          '{',
          '}',
          '[',
          'null',
          'true',
          '1',
          '"x"',
          '[]',
          '{"id":1,',
          '{"id":1 "type":"ping"}',
          '\ufeff{"id":1,"type":"ping"}',
          '{"id":1,"type":"ping",}',
          "{'id':1}",
          '{"id":NaN}',
          '{"id":1}//',
          '{"id":1}{"id":2}',
          '{"type":"ping","id":1,"id":"x"}',
          '\u0000',
        ),
        fc
          .jsonValue({ maxDepth: 2 })
          .filter((v) => v === null || typeof v !== 'object' || Array.isArray(v))
          .map((v) => JSON.stringify(v)),
        fc.tuple(validRequest, fc.nat()).map(([req, cut]) => {
          const t = JSON.stringify(req);
          return t.slice(0, cut % Math.max(1, t.length));
        }),
        fc.string({ unit: 'binary-ascii', maxLength: 200 }),
      )
      .map((data) => ({ data, binary: false })),
    'deep-nesting': text(deepFrame),
    'proto-keys': text(fc.oneof(withProtoKeys, protoIDs)),
    'huge-string': fc
      .tuple(
        fc.constantFrom('invite-groupID', 'signal-sdp', 'login-userSig', 'bare'),
        fc.oneof(
          {
            weight: 14,
            arbitrary: fc.integer({ min: MAX_FRAME_BYTES - 64, max: MAX_FRAME_BYTES + 64 }),
          },
          { weight: 5, arbitrary: fc.integer({ min: 30_000, max: 200_000 }) },
          // Around ws's own limit (1 MiB: the connection is closed with 1009).
          { weight: 1, arbitrary: fc.integer({ min: 1024 * 1024 - 16, max: 1024 * 1024 + 16 }) },
        ),
        fc.boolean(),
      )
      .map(([where, size, multibyte]) => {
        // Sized in bytes: a two-byte character makes a string of size/2 characters.
        const s = multibyte ? 'é'.repeat(Math.floor(size / 2)) : 'x'.repeat(size);
        const forms = {
          'invite-groupID': { id: 1, type: 'invite', userIDList: ['bob'], callType: 1, groupID: s },
          'signal-sdp': {
            type: 'signal',
            callID: 'c',
            to: 'bob',
            data: { description: { type: 'offer', sdp: s } },
          },
          'login-userSig': {
            id: 1,
            type: 'login',
            sdkAppID: pools.sdkAppID,
            userID: 'u',
            userSig: s,
          },
          bare: s,
        };
        return { data: where === 'bare' ? s : JSON.stringify(forms[where]), binary: false };
      }),
    'invalid-utf8': fc.tuple(validRequest, badUtf8, fc.nat()).map(([req, bad, at]) => {
      const t = Buffer.from(JSON.stringify(req));
      const i = at % t.length;
      return {
        data: Buffer.concat([t.subarray(0, i), Buffer.from(bad), t.subarray(i)]),
        binary: false,
      };
    }),
    binary: fc
      .oneof(
        bytes(0, 64),
        validRequest.map((r) => Buffer.from(JSON.stringify(r))),
        // Around the frame limit: filled, not random (random bytes this size are slow to draw).
        fc
          .tuple(fc.integer({ min: MAX_FRAME_BYTES - 4, max: MAX_FRAME_BYTES + 4 }), fc.nat(255))
          .map(([n, b]) => Buffer.alloc(n, b)),
      )
      .map((data) => ({ data, binary: true })),
  };
  return kinds;
}

/** Weights of the kinds, before and after login (invalid UTF-8 closes the connection: rarer after). */
export const KIND_WEIGHTS = {
  pre: {
    valid: 12,
    'hostile-values': 24,
    'wrong-types': 10,
    'unknown-type': 4,
    'bad-id': 4,
    'malformed-json': 10,
    'deep-nesting': 2,
    'proto-keys': 12,
    'huge-string': 0.6,
    'invalid-utf8': 0.5,
    binary: 4,
  },
  post: {
    valid: 20,
    'hostile-values': 26,
    'wrong-types': 10,
    'unknown-type': 3,
    'bad-id': 4,
    'malformed-json': 8,
    'deep-nesting': 2,
    'proto-keys': 12,
    'huge-string': 0.6,
    'invalid-utf8': 0.1,
    binary: 3,
  },
};

/**
 * Draws frames: a kind by weight, then the next frame of a buffer refilled with fast-check
 * (`fc.sample` of 256 at a time, each batch from the next seed, so a run is reproducible from
 * FUZZ_SEED up to the timing of the server's answers).
 */
export class FrameSource {
  /**
   * @param {Pools} pools
   * @param {number} seed
   * @param {(frame: {kind: string, data: string | Buffer, binary: boolean}) => boolean} [skip]
   *   frames to leave out (FUZZ_SKIP_KNOWN)
   */
  constructor(pools, seed, skip) {
    this.arbs = frameArbitraries(pools);
    this.seed = seed;
    this.rng = mulberry32(seed);
    /** @type {Record<string, {data: string | Buffer, binary: boolean}[]>} */
    this.buffers = {};
    this.skip = skip;
    this.skipped = 0;
  }
  /** @param {'pre' | 'post'} phase */
  next(phase) {
    for (;;) {
      const kind = this.#kind(KIND_WEIGHTS[phase]);
      const buf = (this.buffers[kind] ??= []);
      if (buf.length === 0) {
        buf.push(...fc.sample(this.arbs[kind], { numRuns: 256, seed: (this.rng() * 2 ** 31) | 0 }));
      }
      const frame = { kind, ...buf.pop() };
      if (this.skip?.(frame)) {
        this.skipped++;
        continue;
      }
      return frame;
    }
  }
  #kind(weights) {
    let total = 0;
    for (const w of Object.values(weights)) total += w;
    let r = this.rng() * total;
    for (const [k, w] of Object.entries(weights)) {
      r -= w;
      if (r < 0) return k;
    }
    return 'valid';
  }
}

/** A small seeded PRNG (the kind choice must be reproducible too). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
