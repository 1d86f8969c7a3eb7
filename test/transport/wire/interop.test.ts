/**
 * The hand-written codec speaks exactly proto/arenacache.proto: what it encodes, protobufjs
 * (loading the .proto) decodes to the same message, and what protobufjs encodes — with unknown
 * fields anywhere, as a newer peer may send — it decodes to the same message.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeFlushRequest,
  decodeFlushResponse,
  decodeGetManyRequest,
  decodeGetManyResponse,
  decodeHandoffResponse,
  decodeGetRequest,
  decodeGetResponse,
  decodeInvalidateRequest,
  decodeInvalidateResponse,
  decodeRemoveRequest,
  decodeRemoveResponse,
  decodeSetRequest,
  decodeSetResponse,
  encodeEmpty,
  encodeFlushRequest,
  encodeFlushResponse,
  encodeGetRequest,
  encodeGetResponse,
  encodeKeysRequest,
  encodeRemoveResponse,
  encodeSetRequest,
  encodeGetManyResponse,
  GetManyResponseEncoder,
  ItemStatus,
  peerWireService,
  type GetManyItemIn,
  type GetManyResult,
} from '../../../src/transport/wire/index.js';
import { bytesOf, ref, refDecode, refEncode, utf8 } from '../../helpers/reference-codec.js';
import { bytes, concat, int32, key, text, unknownBytes, unknownFields } from '../../helpers/wire-arbitraries.js';

const RUNS = { numRuns: 300 };
const keyBytesOf = (k: string | Uint8Array) => bytesOf(typeof k === 'string' ? utf8(k) : k);

/** An item the encoder API can produce. */
const itemIn: fc.Arbitrary<GetManyItemIn> = fc.oneof(
  fc.record({ status: fc.constant(ItemStatus.FOUND), value: bytes }),
  fc.constant({ status: ItemStatus.NOT_FOUND }),
  fc.constant({ status: ItemStatus.TOO_LARGE }),
  fc.record({ status: fc.constant(ItemStatus.ERROR), code: int32, kind: text, message: text }),
);

/** What protobufjs decodes an encoded item to, given what went in. */
function expectedItem(it: GetManyItemIn) {
  return {
    status: it.status,
    value: bytesOf(it.value),
    code: it.code ?? 0,
    kind: it.kind ?? '',
    message: it.message ?? '',
  };
}

/** Our decoded response in protobufjs's toObject shape. */
function asObjects(r: GetManyResult) {
  return r.status.map((status, i) => ({
    status,
    value: bytesOf(r.values[i]),
    code: r.details?.[i]?.code ?? 0,
    kind: r.details?.[i]?.kind ?? '',
    message: r.details?.[i]?.message ?? '',
  }));
}

describe('wire codec → protobufjs', () => {
  it('GetRequest and GetResponse', () => {
    fc.assert(
      fc.property(text, key, bytes, (group, k, value) => {
        const req = refDecode(ref.GetRequest, encodeGetRequest({ group, key: k }));
        expect(req.group).toBe(group);
        expect(req.key).toEqual(keyBytesOf(k));
        expect(refDecode(ref.GetResponse, encodeGetResponse(value)).value).toEqual(bytesOf(value));
      }),
      RUNS,
    );
  });

  it('GetManyRequest, RemoveRequest and InvalidateRequest (keys as strings or bytes, empty ones kept)', () => {
    fc.assert(
      fc.property(text, fc.array(key, { maxLength: 40 }), (group, keys) => {
        const wire = encodeKeysRequest({ group, keys });
        for (const type of [ref.GetManyRequest, ref.RemoveRequest, ref.InvalidateRequest]) {
          const got = refDecode(type, wire);
          expect(got.group).toBe(group);
          expect(got.keys).toEqual(keys.map(keyBytesOf));
        }
      }),
      RUNS,
    );
  });

  it('GetManyRequest with a GetStream batch id', () => {
    fc.assert(
      fc.property(text, fc.array(key, { maxLength: 10 }), fc.integer({ min: 0, max: 0xffff_ffff }), (group, keys, batch) => {
        const got = refDecode(ref.GetManyRequest, encodeKeysRequest({ group, keys, batch }));
        expect([got.group, got.keys, got.batch]).toEqual([group, keys.map(keyBytesOf), batch]);
      }),
      RUNS,
    );
  });

  it('GetManyResponse with GetStream fields, and HandoffResponse (the service serializers)', () => {
    const svc = peerWireService();
    fc.assert(
      fc.property(
        fc.array(itemIn, { maxLength: 20 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { maxLength: 20 }),
        fc.boolean(),
        (items, batch, slots, more) => {
          const frame = refDecode(ref.GetManyResponse, svc.GetStream.responseSerialize({ items, batch, slots, more }));
          expect([frame.items, frame.batch, frame.slots, frame.more]).toEqual([items.map(expectedItem), batch, slots, more]);
          const handoff = refDecode(ref.HandoffResponse, svc.Handoff.responseSerialize({ items, holdsNothing: more }));
          expect([handoff.items, handoff.holdsNothing]).toEqual([items.map(expectedItem), more]);
        },
      ),
      RUNS,
    );
  });

  it('GetManyResponse from item objects', () => {
    fc.assert(
      fc.property(fc.array(itemIn, { maxLength: 40 }), (items) => {
        const got = refDecode(ref.GetManyResponse, encodeGetManyResponse(items));
        expect(got.items).toEqual(items.map(expectedItem));
      }),
      RUNS,
    );
  });

  it('GetManyResponse whose values a ValueSource copies in the second pass', () => {
    fc.assert(
      fc.property(fc.array(fc.option(bytes, { nil: undefined }), { maxLength: 40 }), (values) => {
        const enc = new GetManyResponseEncoder({ capacity: 1 });
        for (const v of values) {
          if (v === undefined) enc.notFound();
          else enc.found(v.length);
        }
        const wire = enc.finish((i, dst, at, len) => {
          dst.set(values[i]!, at);
          return len;
        });
        expect(wire.length).toBe(enc.byteLength);
        const got = refDecode(ref.GetManyResponse, wire);
        expect(got.items).toEqual(
          values.map((v) => expectedItem(v === undefined ? { status: ItemStatus.NOT_FOUND } : { status: ItemStatus.FOUND, value: v })),
        );
      }),
      RUNS,
    );
  });

  it('SetRequest: ttl_ms present (even 0, even negative) or absent', () => {
    fc.assert(
      fc.property(text, key, bytes, fc.option(fc.maxSafeInteger(), { nil: undefined }), (group, k, value, ttlMs) => {
        const wire = encodeSetRequest({ group, key: k, value, ...(ttlMs === undefined ? {} : { ttlMs }) });
        const decoded = ref.SetRequest.decode(wire) as unknown as Record<string, unknown>;
        const got = refDecode(ref.SetRequest, wire);
        expect(got.group).toBe(group);
        expect(got.key).toEqual(keyBytesOf(k));
        expect(got.value).toEqual(bytesOf(value));
        expect(Object.prototype.hasOwnProperty.call(decoded, 'ttlMs')).toBe(ttlMs !== undefined);
        if (ttlMs !== undefined) expect(got.ttlMs).toBe(ttlMs);
      }),
      RUNS,
    );
  });

  it('RemoveResponse and the empty responses', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (removed) => {
        expect(refDecode(ref.RemoveResponse, encodeRemoveResponse({ removed })).removed).toBe(removed);
      }),
      RUNS,
    );
    expect(refDecode(ref.SetResponse, encodeEmpty())).toEqual({});
    expect(refDecode(ref.InvalidateResponse, encodeEmpty())).toEqual({});
  });

  it('FlushRequest and FlushResponse (a count above 2^32-1 is sent as 2^32-1)', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 0xffff_ffff }), (group, dropped) => {
        expect(refDecode(ref.FlushRequest, encodeFlushRequest({ group })).group).toBe(group);
        expect(refDecode(ref.FlushResponse, encodeFlushResponse({ dropped })).dropped).toBe(dropped);
      }),
      RUNS,
    );
    expect(refDecode(ref.FlushResponse, encodeFlushResponse({ dropped: 2 ** 40 })).dropped).toBe(0xffff_ffff);
  });
});

/** Any GetManyItem protobufjs can encode, including statuses this version does not know. */
const anyItem = fc.record(
  {
    status: fc.oneof(fc.integer({ min: 0, max: 6 }), int32),
    value: bytes,
    code: int32,
    kind: text,
    message: text,
  },
  { requiredKeys: [] },
);

describe('protobufjs → wire codec (with unknown fields a newer peer may add)', () => {
  it('GetRequest and GetResponse', () => {
    fc.assert(
      fc.property(text, bytes, bytes, unknownFields, unknownFields, (group, k, value, pre, post) => {
        const req = decodeGetRequest(concat(unknownBytes(pre), refEncode(ref.GetRequest, { group, key: k }), unknownBytes(post)));
        expect(req.group).toBe(group);
        expect(bytesOf(req.key)).toEqual(bytesOf(k));
        const res = decodeGetResponse(concat(unknownBytes(pre), refEncode(ref.GetResponse, { value }), unknownBytes(post)));
        expect(bytesOf(res.value)).toEqual(bytesOf(value));
      }),
      RUNS,
    );
  });

  it('GetManyRequest, RemoveRequest and InvalidateRequest', () => {
    fc.assert(
      fc.property(text, fc.array(bytes, { maxLength: 40 }), unknownFields, unknownFields, (group, keys, pre, post) => {
        const wire = concat(unknownBytes(pre), refEncode(ref.GetManyRequest, { group, keys }), unknownBytes(post));
        for (const decode of [decodeGetManyRequest, decodeRemoveRequest, decodeInvalidateRequest]) {
          const got = decode(wire);
          expect(got.group).toBe(group);
          expect(got.keys.map(bytesOf)).toEqual(keys.map(bytesOf));
        }
      }),
      RUNS,
    );
  });

  it('GetManyResponse, unknown fields inside items and between them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(anyItem, unknownFields, unknownFields), { maxLength: 30 }),
        unknownFields,
        (items, trailing) => {
          // Items built one by one so unknown fields can sit inside each item, then wrapped as field 1.
          const parts: Uint8Array[] = [];
          for (const [item, pre, post] of items) {
            const body = concat(unknownBytes(pre), refEncode(ref.GetManyItem, item), unknownBytes(post));
            parts.push(new Uint8Array([0x0a]), varint(body.length), body);
          }
          parts.push(unknownBytes(trailing));
          const wire = concat(...parts);
          const want = refDecode(ref.GetManyResponse, wire).items as Array<Record<string, unknown>>;
          const got = decodeGetManyResponse(wire);
          expect(got.count).toBe(items.length);
          expect(asObjects(got)).toEqual(want);
          // A FOUND item always has a value (empty when none was sent); other items only if sent
          // (protobufjs writes a field whenever the object has it, even empty).
          got.status.forEach((st, i) => {
            if (st === ItemStatus.FOUND) expect(got.values[i]).toBeInstanceOf(Uint8Array);
            else expect(got.values[i] === undefined).toBe(items[i]![0].value === undefined);
          });
        },
      ),
      RUNS,
    );
  });

  it('GetManyRequest with a batch id, GetManyResponse with batch, slots (packed and unpacked) and more, HandoffResponse', () => {
    fc.assert(
      fc.property(
        text,
        fc.array(bytes, { maxLength: 10 }),
        fc.array(anyItem, { maxLength: 10 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { maxLength: 12 }),
        fc.boolean(),
        unknownFields,
        (group, keys, items, batch, slots, more, extra) => {
          const req = decodeGetManyRequest(concat(refEncode(ref.GetManyRequest, { group, keys, batch }), unknownBytes(extra)));
          expect([req.group, req.keys.map(bytesOf), req.batch]).toEqual([group, keys.map(bytesOf), batch]);
          // protobufjs writes `slots` packed (proto3); a decoder must read unpacked elements too.
          const packed = concat(refEncode(ref.GetManyResponse, { items, batch, slots, more }), unknownBytes(extra));
          const unpacked = concat(
            refEncode(ref.GetManyResponse, { items, batch, more }),
            ...slots.map((s) => concat(new Uint8Array([0x70]), varint(s))),
            unknownBytes(extra),
          );
          const want = refDecode(ref.GetManyResponse, packed);
          for (const wire of [packed, unpacked]) {
            const got = decodeGetManyResponse(wire);
            expect(asObjects(got)).toEqual(want.items);
            expect([got.batch, got.slots ?? [], got.more]).toEqual([batch, slots, more]);
          }
          const handoff = decodeHandoffResponse(concat(refEncode(ref.HandoffResponse, { items, holdsNothing: more }), unknownBytes(extra)));
          expect([asObjects(handoff), handoff.holdsNothing]).toEqual([want.items, more]);
        },
      ),
      RUNS,
    );
  });

  it('SetRequest with and without ttl_ms', () => {
    fc.assert(
      fc.property(text, bytes, bytes, fc.option(fc.maxSafeInteger(), { nil: undefined }), unknownFields, (group, k, value, ttlMs, extra) => {
        const msg: Record<string, unknown> = { group, key: k, value };
        if (ttlMs !== undefined) msg.ttlMs = ttlMs;
        const got = decodeSetRequest(concat(refEncode(ref.SetRequest, msg), unknownBytes(extra)));
        expect(got.group).toBe(group);
        expect(bytesOf(got.key)).toEqual(bytesOf(k));
        expect(bytesOf(got.value)).toEqual(bytesOf(value));
        expect(got.ttlMs).toBe(ttlMs);
      }),
      RUNS,
    );
  });

  it('RemoveResponse and the empty responses', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), unknownFields, (removed, extra) => {
        expect(decodeRemoveResponse(concat(refEncode(ref.RemoveResponse, { removed }), unknownBytes(extra))).removed).toBe(removed);
        expect(decodeSetResponse(unknownBytes(extra))).toEqual({});
        expect(decodeInvalidateResponse(unknownBytes(extra))).toEqual({});
      }),
      RUNS,
    );
  });

  it('FlushRequest and FlushResponse', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 0xffff_ffff }), unknownFields, (group, dropped, extra) => {
        expect(decodeFlushRequest(concat(refEncode(ref.FlushRequest, { group }), unknownBytes(extra))).group).toBe(group);
        expect(decodeFlushRequest(concat(unknownBytes(extra), refEncode(ref.FlushRequest, { group }))).group).toBe(group);
        expect(decodeFlushResponse(concat(refEncode(ref.FlushResponse, { dropped }), unknownBytes(extra))).dropped).toBe(dropped);
      }),
      RUNS,
    );
  });

  it('two concatenated messages merge as protobuf says: last scalar wins, repeated fields append', () => {
    fc.assert(
      fc.property(text, fc.array(bytes, { maxLength: 5 }), text, fc.array(bytes, { maxLength: 5 }), (g1, k1, g2, k2) => {
        const wire = concat(refEncode(ref.GetManyRequest, { group: g1, keys: k1 }), refEncode(ref.GetManyRequest, { group: g2, keys: k2 }));
        const got = decodeGetManyRequest(wire);
        expect(got.group).toBe(refDecode(ref.GetManyRequest, wire).group);
        expect(got.keys.map(bytesOf)).toEqual([...k1, ...k2].map(bytesOf));
      }),
      RUNS,
    );
  });
});

describe('decoded values are views of the received buffer', () => {
  it('GetManyResponse values and GetManyRequest keys share the input buffer (no copy)', () => {
    const wire = encodeGetManyResponse([
      { status: ItemStatus.FOUND, value: utf8('alpha') },
      { status: ItemStatus.NOT_FOUND },
      { status: ItemStatus.FOUND, value: new Uint8Array(5000).fill(7) },
    ]);
    const got = decodeGetManyResponse(wire);
    for (const v of [got.values[0]!, got.values[2]!]) expect(v.buffer).toBe(wire.buffer);
    expect(Buffer.from(got.values[0]!).toString()).toBe('alpha');
    expect(got.values[1]).toBeUndefined();

    const req = encodeKeysRequest({ group: 'g', keys: ['k1', 'ключ'] });
    const keys = decodeGetManyRequest(req).keys;
    expect(keys.map((k) => Buffer.from(k).toString())).toEqual(['k1', 'ключ']);
    for (const k of keys) expect(k.buffer).toBe(req.buffer);
  });
});

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return new Uint8Array(out);
}
