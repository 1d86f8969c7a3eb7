/**
 * Malformed input: every decoder either returns a message whose views lie inside the input, or
 * throws a WireError naming the message type and offset — never another exception, never a read
 * outside the message (checked with a buffer that throws on any out-of-range index).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeGetManyRequest,
  decodeGetManyResponse,
  decodeHandoffResponse,
  decodeGetRequest,
  decodeGetResponse,
  decodeFlushRequest,
  decodeFlushResponse,
  decodeInvalidateRequest,
  decodeInvalidateResponse,
  decodeRemoveRequest,
  decodeRemoveResponse,
  decodeSetRequest,
  decodeSetResponse,
  encodeGetManyResponse,
  encodeFlushRequest,
  encodeFlushResponse,
  encodeGetRequest,
  encodeKeysRequest,
  encodeSetRequest,
  ItemStatus,
  peerWireService,
  WireError,
} from '../../../src/transport/wire/index.js';
import { isMalformed, MALFORMED } from '../../../src/transport/proto.js';
import { bytes, key, text } from '../../helpers/wire-arbitraries.js';

const DECODERS: Record<string, (b: Uint8Array) => unknown> = {
  GetRequest: decodeGetRequest,
  GetResponse: decodeGetResponse,
  GetManyRequest: decodeGetManyRequest,
  GetManyResponse: decodeGetManyResponse,
  HandoffResponse: decodeHandoffResponse,
  RemoveRequest: decodeRemoveRequest,
  InvalidateRequest: decodeInvalidateRequest,
  SetRequest: decodeSetRequest,
  SetResponse: decodeSetResponse,
  RemoveResponse: decodeRemoveResponse,
  InvalidateResponse: decodeInvalidateResponse,
  FlushRequest: decodeFlushRequest,
  FlushResponse: decodeFlushResponse,
};

/**
 * A Uint8Array stand-in that throws on any index outside [0, length): an out-of-range read in a
 * decoder would otherwise yield `undefined` and be silently coerced. The decoders only index,
 * read `length` and call `subarray`, which the proxy forwards to the real array.
 */
function strict(u8: Uint8Array): Uint8Array {
  return new Proxy(u8, {
    get(target, prop) {
      if (typeof prop === 'string' && /^-?\d+$/.test(prop)) {
        const i = Number(prop);
        if (i < 0 || i >= target.length) throw new RangeError(`out-of-range read at ${i} of ${target.length}`);
        return target[i];
      }
      if (prop === 'subarray') {
        return (s: number, e: number) => {
          if (s < 0 || e > target.length || s > e) throw new RangeError(`subarray(${s}, ${e}) of ${target.length}`);
          return target.subarray(s, e);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** Every Uint8Array reachable from a decoded message, to check it views the input. */
function views(x: unknown, out: Uint8Array[] = []): Uint8Array[] {
  if (x instanceof Uint8Array) out.push(x);
  else if (Array.isArray(x)) for (const y of x) views(y, out);
  else if (x && typeof x === 'object') for (const y of Object.values(x)) views(y, out);
  return out;
}

/** Decode: a result whose non-empty views lie within `input`, or a WireError. Anything else fails. */
function decodeOrWireError(name: string, input: Uint8Array): 'ok' | 'error' {
  let result: unknown;
  try {
    result = DECODERS[name]!(strict(input));
  } catch (err) {
    if (err instanceof WireError) {
      expect(err.message).toMatch(new RegExp(`^malformed arenacache\\.v1\\.\\w+ at byte \\d+: `));
      expect(err.offset).toBeGreaterThanOrEqual(0);
      expect(err.offset).toBeLessThanOrEqual(input.length);
      return 'error';
    }
    throw err;
  }
  for (const v of views(result)) {
    if (v.length === 0) continue;
    expect(v.buffer).toBe(input.buffer);
    expect(v.byteOffset).toBeGreaterThanOrEqual(input.byteOffset);
    expect(v.byteOffset + v.length).toBeLessThanOrEqual(input.byteOffset + input.length);
  }
  return 'ok';
}

/** Valid messages of each type, to truncate and mutate. */
const validMessage = fc.oneof(
  fc.tuple(fc.constant('GetRequest'), fc.tuple(text, key).map(([group, k]) => encodeGetRequest({ group, key: k }))),
  fc.tuple(
    fc.constant('GetManyRequest'),
    fc.tuple(text, fc.array(key, { maxLength: 8 }), fc.nat()).map(([group, keys, batch]) => encodeKeysRequest({ group, keys, batch })),
  ),
  fc.tuple(
    fc.constant('GetManyResponse'),
    fc
      .array(
        fc.oneof(
          bytes.map((value) => ({ status: ItemStatus.FOUND, value })),
          fc.constant({ status: ItemStatus.NOT_FOUND }),
          fc.record({ status: fc.constant(ItemStatus.ERROR), code: fc.integer({ min: -3, max: 16 }), kind: text, message: text }),
        ),
        { maxLength: 8 },
      )
      .chain((items) =>
        fc
          .record({ batch: fc.nat(), slots: fc.array(fc.nat(), { maxLength: 8 }), more: fc.boolean() })
          .map((tail) => encodeGetManyResponse(items, undefined, tail)),
      ),
  ),
  fc.tuple(
    fc.constant('SetRequest'),
    fc.tuple(text, key, bytes, fc.option(fc.maxSafeInteger(), { nil: undefined })).map(([group, k, value, ttlMs]) =>
      encodeSetRequest({ group, key: k, value, ...(ttlMs === undefined ? {} : { ttlMs }) }),
    ),
  ),
  fc.tuple(fc.constant('FlushRequest'), text.map((group) => encodeFlushRequest({ group }))),
  fc.tuple(fc.constant('FlushResponse'), fc.integer({ min: 0, max: 0xffff_ffff }).map((dropped) => encodeFlushResponse({ dropped }))),
);

const inView = (b: Uint8Array, pad: number) => {
  // Place the message inside a larger buffer so "outside the message" has readable bytes.
  const big = new Uint8Array(b.length + 2 * pad).fill(0x80);
  big.set(b, pad);
  return big.subarray(pad, pad + b.length);
};

describe('fuzzing the decoders', () => {
  it('random bytes: a message or a WireError, for every message type', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 16 }), (raw, pad) => {
        for (const name of Object.keys(DECODERS)) decodeOrWireError(name, inView(raw, pad));
      }),
      { numRuns: 2000 },
    );
  });

  it('every truncation of a valid message: a message or a WireError; cutting inside a value is an error', () => {
    fc.assert(
      fc.property(validMessage, fc.array(fc.nat(), { maxLength: 40 }), ([name, wire], cuts) => {
        // Every cut of short messages; 40 random cuts of long ones (the proxy makes each decode slow).
        const at = wire.length <= 300 ? Array.from({ length: wire.length }, (_, i) => i) : cuts.map((c) => c % wire.length);
        for (const n of at) decodeOrWireError(name, inView(wire.subarray(0, n), 8));
      }),
      { numRuns: 300 },
    );
    const wire = encodeGetManyResponse([{ status: ItemStatus.FOUND, value: new Uint8Array(100).fill(1) }]);
    expect(() => decodeGetManyResponse(wire.subarray(0, wire.length - 1))).toThrow(/GetManyResponse at byte 1: length 104 runs past the end of the message \(103 bytes left\)/);
  });

  it('random byte changes in valid messages: a message or a WireError', () => {
    fc.assert(
      fc.property(validMessage, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), ([name, wire], edits) => {
        const m = Uint8Array.from(wire);
        if (m.length === 0) return;
        for (const [at, b] of edits) m[at % m.length] = b;
        decodeOrWireError(name, m);
      }),
      { numRuns: 1500 },
    );
  });

  it('huge declared lengths (up to 2^64) fail without allocating or reading', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(DECODERS)),
        fc.integer({ min: 1, max: 5 }),
        fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
        fc.uint8Array({ maxLength: 16 }),
        (name, field, declared, rest) => {
          const prefix = [(field << 3) | 2, ...varint(declared)];
          if (declared <= BigInt(rest.length)) return; // that one is a valid length
          expect(decodeOrWireError(name, Uint8Array.from([...prefix, ...rest]))).toBe('error');
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('malformed messages give a clear error', () => {
  const cases: Array<[string, number[], RegExp]> = [
    ['length past the end', [0x12, 0x05, 1, 2], /at byte 1: length 5 runs past the end of the message \(2 bytes left\)/],
    ['length of 2^32 − 1', [0x12, 0xff, 0xff, 0xff, 0xff, 0x0f], /length 4294967295 runs past the end/],
    ['length beyond 32 bits', [0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], /length more than 2\^32 runs past the end/],
    ['varint cut short', [0x12, 0x80], /at byte 1: varint runs past the end of the message/],
    ['varint of 11 bytes', [0x30, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], /varint longer than 10 bytes/],
    ['field number 0', [0x02, 0x00], /at byte 0: field number 0/],
    ['wire type 6', [0x36], /field 6 has invalid wire type 6/],
    ['wire type 7', [0x7f], /field 15 has invalid wire type 7/],
    ['end-group without start', [0x34], /end-group 6 without a start-group/],
    ['unclosed group', [0x33, 0x38, 0x01], /group 6 is not closed/],
    ['group closed by another field', [0x33, 0x3c], /group 6 closed by end-group 7/],
    ['groups nested too deep', [...Array(101).fill(0x33), ...Array(101).fill(0x34)], /groups nested deeper than 100/],
    ['fixed64 cut short', [0x31, 1, 2, 3], /fixed-width field 6 runs past the end/],
    ['tag wider than 32 bits', [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], /tag does not fit in 32 bits/],
    ['known field with the wrong wire type', [0x08, 0x01], /field 1 has wire type 0, expected 2/],
    ['group name that is not UTF-8', [0x0a, 0x02, 0xc3, 0x28], /at byte 2: field 1 is not valid UTF-8/],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => {
      expect(() => decodeGetManyRequest(Uint8Array.from(bytes))).toThrow(message);
      expect(() => decodeGetManyRequest(Uint8Array.from(bytes))).toThrow(WireError);
    });
  }

  it('an item with a bad length inside a GetManyResponse names the response and the offset', () => {
    // items[0] = { value (declared 9 bytes, 1 present) } inside an item of 3 bytes
    expect(() => decodeGetManyResponse(Uint8Array.from([0x0a, 0x03, 0x12, 0x09, 0x00]))).toThrow(
      /malformed arenacache.v1.GetManyResponse at byte 3: length 9 runs past the end of the message \(1 bytes left\)/,
    );
    // a wrong wire type for the status field of an item
    expect(() => decodeGetManyResponse(Uint8Array.from([0x0a, 0x02, 0x0a, 0x00]))).toThrow(/field 1 has wire type 2, expected 0/);
  });

  it('the service definition turns an undecodable request into a MALFORMED marker, not an exception', () => {
    const svc = peerWireService();
    const bad = Buffer.from([0x12, 0x05, 1]);
    for (const m of [svc.Get, svc.GetMany, svc.Set, svc.Remove, svc.Invalidate, svc.Flush]) {
      const got = m.requestDeserialize(bad);
      expect(isMalformed(got)).toBe(true);
      expect((got as { [MALFORMED]: string })[MALFORMED]).toMatch(/runs past the end/);
    }
    // Responses are the client's to judge: their decoders throw, which grpc-js reports on the call.
    expect(() => svc.GetMany.responseDeserialize(bad)).toThrow(WireError);
  });
});

function varint(n: bigint): number[] {
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}
