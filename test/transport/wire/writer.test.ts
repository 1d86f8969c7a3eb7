/**
 * GetManyResponseWriter, the one-pass writer the server answers with: what it writes protobufjs
 * (loading the .proto) decodes to the same items and tail fields (GetStream's batch/slots/more,
 * Handoff's holds_nothing); a message it returned is never written again, whatever comes after it
 * (messages share slabs, and outgrow them); maxBytes turns exactly the values that would cross it
 * into TOO_LARGE; `detach`/`raw` carry items across an await.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeGetManyResponse, decodeHandoffResponse, GetManyResponseWriter, ItemStatus } from '../../../src/transport/wire/index.js';
import { bytesOf, ref, refDecode } from '../../helpers/reference-codec.js';
import { bytes, int32, text } from '../../helpers/wire-arbitraries.js';

type In = { t: 'found'; value: Uint8Array } | { t: 'notFound' } | { t: 'tooLarge' } | { t: 'error'; code: number; kind: string; message: string };

const item: fc.Arbitrary<In> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('found' as const), value: bytes }) },
  fc.constant({ t: 'notFound' as const }),
  fc.constant({ t: 'tooLarge' as const }),
  fc.record({ t: fc.constant('error' as const), code: int32, kind: text, message: text }),
);

const tail = fc.record(
  { batch: fc.integer({ min: 0, max: 0xffff_ffff }), slots: fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { maxLength: 20 }), more: fc.boolean() },
  { requiredKeys: [] },
);

function write(w: GetManyResponseWriter, items: In[]): void {
  for (const it of items) {
    if (it.t === 'found') w.found(it.value);
    else if (it.t === 'notFound') w.notFound();
    else if (it.t === 'tooLarge') w.tooLarge();
    else w.error(it.code, it.kind, it.message);
  }
}

/** The item as protobufjs's toObject shows it. */
function expected(it: In) {
  const status = { found: ItemStatus.FOUND, notFound: ItemStatus.NOT_FOUND, tooLarge: ItemStatus.TOO_LARGE, error: ItemStatus.ERROR }[it.t];
  return {
    status,
    value: it.t === 'found' ? bytesOf(it.value) : [],
    code: it.t === 'error' ? it.code : 0,
    kind: it.t === 'error' ? it.kind : '',
    message: it.t === 'error' ? it.message : '',
  };
}

describe('GetManyResponseWriter', () => {
  it('writes what protobufjs reads: items and the GetStream tail', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), tail, (items, t) => {
        const w = new GetManyResponseWriter();
        write(w.begin(), items);
        const msg = w.finish(t);
        const got = refDecode(ref.GetManyResponse, msg);
        expect(got.items).toEqual(items.map(expected));
        expect([got.batch, got.slots, got.more]).toEqual([t.batch ?? 0, t.slots ?? [], t.more ?? false]);
        const ours = decodeGetManyResponse(msg);
        expect([ours.count, ours.batch, ours.slots ?? [], ours.more]).toEqual([items.length, t.batch ?? 0, t.slots ?? [], t.more ?? false]);
      }),
      { numRuns: 300 },
    );
  });

  it('writes HandoffResponse.holds_nothing', () => {
    const w = new GetManyResponseWriter();
    w.begin().found(Buffer.from('v'));
    w.notFound();
    const msg = w.finish({ holdsNothing: true });
    const got = refDecode(ref.HandoffResponse, msg);
    expect([got.holdsNothing, got.items.map((i: { status: number }) => i.status)]).toEqual([true, [ItemStatus.FOUND, ItemStatus.NOT_FOUND]]);
    expect(decodeHandoffResponse(msg).holdsNothing).toBe(true);
  });

  it('never writes over a message it returned: messages share slabs, start a fresh one for their size hint, move when they outgrow it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(item, { maxLength: 12 }), tail, fc.nat(100_000)), { minLength: 1, maxLength: 25 }),
        fc.constantFrom(1024, 4096, 1 << 20),
        (messages, slabBytes) => {
        const w = new GetManyResponseWriter({ slabBytes });
        const out = messages.map(([items, t, sizeHint]) => {
          write(w.begin(sizeHint), items);
          return w.finish(t);
        });
        messages.forEach(([items, t], i) => {
          const got = refDecode(ref.GetManyResponse, out[i]!);
          expect(got.items).toEqual(items.map(expected));
          expect(got.batch).toBe(t.batch ?? 0);
        });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('maxBytes: a value that would take the message past it becomes TOO_LARGE; later ones that fit still go', () => {
    const w = new GetManyResponseWriter({ maxBytes: 200 });
    w.begin();
    expect(w.found(new Uint8Array(100).fill(1))).toBe(true);
    expect(w.found(new Uint8Array(100).fill(2))).toBe(false);
    expect(w.found(new Uint8Array(10).fill(3))).toBe(true);
    const msg = w.finish({ batch: 3, slots: [0, 1, 2] });
    expect(msg.length).toBeLessThanOrEqual(200);
    const got = decodeGetManyResponse(msg);
    expect(got.status).toEqual([ItemStatus.FOUND, ItemStatus.TOO_LARGE, ItemStatus.FOUND]);
    expect([got.values[0]!.length, got.values[2]!.length]).toEqual([100, 10]);
  });

  it('detach keeps the items written so far; raw puts them back in front of later ones', () => {
    const w = new GetManyResponseWriter({ slabBytes: 1024 });
    w.begin().found(Buffer.from('a'));
    w.notFound();
    const head = w.detach();
    expect(w.count).toBe(0);
    w.begin().found(Buffer.from('other')); // another message in between
    const other = w.finish();
    w.begin().raw(head.bytes, head.items);
    w.found(new Uint8Array(3000).fill(9)); // past the slab: the message moves, head and all
    expect(w.count).toBe(3);
    const got = decodeGetManyResponse(w.finish());
    expect(got.status).toEqual([ItemStatus.FOUND, ItemStatus.NOT_FOUND, ItemStatus.FOUND]);
    expect(Buffer.from(got.values[0]!).toString()).toBe('a');
    expect(got.values[2]!.length).toBe(3000);
    expect(Buffer.from(decodeGetManyResponse(other).values[0]!).toString()).toBe('other');
  });
});
