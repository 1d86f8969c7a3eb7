/**
 * The two-pass GetManyResponse encoder: exact sizes, the message-size budget turning items into
 * TOO_LARGE as they are recorded, values copied by a ValueSource in the second pass.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeGetManyRequest,
  decodeGetManyResponse,
  decodeGetResponse,
  encodeKeysRequest,
  encodeGetResponseFrom,
  GetManyResponseEncoder,
  ItemStatus,
  WireError,
} from '../../../src/transport/wire/index.js';
import { ref, refDecode } from '../../helpers/reference-codec.js';

const copyFrom = (values: Uint8Array[]) => (i: number, dst: Uint8Array, at: number) => {
  dst.set(values[i]!, at);
  return values[i]!.length;
};

describe('GetManyResponseEncoder', () => {
  it('sizes exactly: byteLength is the length finish() produces, at every varint boundary', () => {
    for (const len of [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
      const value = new Uint8Array(len).fill(len & 0xff);
      const enc = new GetManyResponseEncoder();
      enc.foundValue(value);
      enc.notFound();
      enc.error(-1, 'loader', 'boom');
      const wire = enc.finish();
      expect(wire.length).toBe(enc.byteLength);
      const got = decodeGetManyResponse(wire);
      expect(got.status).toEqual([ItemStatus.FOUND, ItemStatus.NOT_FOUND, ItemStatus.ERROR]);
      expect(got.values[0]!.length).toBe(len);
      expect(got.details?.[2]).toEqual({ code: -1, kind: 'loader', message: 'boom' });
    }
  });

  it('keeps the message under maxBytes: an item that does not fit becomes TOO_LARGE, later small ones still go', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 30 }), fc.integer({ min: 0, max: 20_000 }), (sizes, maxBytes) => {
        const values = sizes.map((n) => new Uint8Array(n).fill(n & 0xff));
        const enc = new GetManyResponseEncoder({ maxBytes, capacity: 2 });
        const fitted = values.map((v) => enc.found(v.length));
        const wire = enc.finish(copyFrom(values));
        // Refused items still answer with a 4-byte TOO_LARGE marker; everything else fits the budget.
        const refused = fitted.filter((f) => !f).length;
        expect(wire.length).toBeLessThanOrEqual(maxBytes + 4 * refused);
        const got = refDecode(ref.GetManyResponse, wire).items as Array<{ status: number; value: number[] }>;
        expect(got).toHaveLength(values.length);
        got.forEach((item, i) => {
          if (fitted[i]) expect(item).toMatchObject({ status: ItemStatus.FOUND, value: Array.from(values[i]!) });
          else expect(item).toMatchObject({ status: ItemStatus.TOO_LARGE, value: [] });
        });
        // Greedy in order: an item was refused only if it would have crossed the limit there.
        let used = 0;
        for (let i = 0; i < values.length; i++) {
          const n = values[i]!.length;
          const body = 2 + (n > 0 ? 1 + varintSize(n) + n : 0);
          const size = 1 + varintSize(body) + body;
          if (used + size <= maxBytes) {
            expect(fitted[i]).toBe(true);
            used += size;
          } else {
            expect(fitted[i]).toBe(false);
            used += 4;
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('can be reset and reused; the result equals a fresh encoder', () => {
    const enc = new GetManyResponseEncoder({ capacity: 1 });
    const run = (e: GetManyResponseEncoder, n: number) => {
      const values = Array.from({ length: n }, (_, i) => new Uint8Array(i * 10).fill(i));
      values.forEach((v, i) => (i % 3 === 2 ? e.notFound() : e.found(v.length)));
      return e.finish(copyFrom(values));
    };
    run(enc, 50);
    const again = run(enc.reset(), 7);
    expect(again).toEqual(run(new GetManyResponseEncoder(), 7));
  });

  it('a value sized with found(length) needs a source, and the source must write what was sized', () => {
    const enc = new GetManyResponseEncoder();
    enc.found(3);
    expect(() => enc.finish()).toThrow(/item 0 was sized with found\(length\) and needs a ValueSource/);
    expect(() => enc.finish(() => 2)).toThrow(WireError);
    expect(() => enc.finish(() => 2)).toThrow(/value source wrote 2 bytes for item 0, 3 were sized/);
  });

  it('a head of extra fields goes first and is skipped by decoders that do not know it', () => {
    const head = Uint8Array.from([0x78, 0xac, 0x02]); // field 15 (varint) = 300: a stream frame's batch id
    const enc = new GetManyResponseEncoder();
    enc.foundValue(Buffer.from('v'));
    const wire = enc.finish(undefined, head);
    expect(Array.from(wire.subarray(0, 3))).toEqual([0x78, 0xac, 0x02]);
    expect(decodeGetManyResponse(wire).values.map((v) => Buffer.from(v!).toString())).toEqual(['v']);
    expect(refDecode(ref.GetManyResponse, wire).items).toHaveLength(1);
    const req = encodeKeysRequest({ group: 'g', keys: ['a', 'b'] }, head);
    expect(Array.from(req.subarray(0, 3))).toEqual([0x78, 0xac, 0x02]);
    expect(decodeGetManyRequest(req).keys.map((k) => Buffer.from(k).toString())).toEqual(['a', 'b']);
    expect(refDecode(ref.GetManyRequest, req).group).toBe('g');
  });

  it('GetResponse straight from a source', () => {
    const value = Buffer.from('from the arena');
    const wire = encodeGetResponseFrom(value.length, (i, dst, at, len) => {
      expect(i).toBe(0);
      return value.copy(dst, at, 0, len);
    });
    expect(Buffer.from(decodeGetResponse(wire).value).toString()).toBe('from the arena');
    expect(() => encodeGetResponseFrom(4, () => 0)).toThrow(/value source wrote 0 bytes, 4 were sized/);
  });
});

function varintSize(n: number): number {
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}
