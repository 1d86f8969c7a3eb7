/**
 * fast-check arbitraries for arenacache.v1 messages and for protobuf fields the contract does not
 * define (unknown fields every decoder must skip).
 */
import fc from 'fast-check';
import type protobuf from 'protobufjs';
import { Writer } from './reference-codec.js';

/** Text incl. empty, ASCII, any code point (no lone surrogates: proto3 strings are valid UTF-8). */
export const text = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'grapheme-ascii', maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
);

/** Bytes incl. empty and large (values beyond the one-byte and two-byte length prefixes). */
export const bytes = fc.oneof(
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 0 }) },
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 16_000, maxLength: 20_000 }) },
);

/** A key as callers hold it: a non-empty string or raw bytes. */
export const key = fc.oneof(text, bytes);

export const int32 = fc.oneof(fc.integer({ min: -5, max: 20 }), fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }));

export type Unknown =
  | { kind: 'varint'; field: number; value: bigint }
  | { kind: 'i64'; field: number; value: bigint }
  | { kind: 'i32'; field: number; value: number }
  | { kind: 'len'; field: number; value: Uint8Array }
  | { kind: 'group'; field: number; inner: Unknown[] };

/** Field numbers no arenacache.v1 message uses (items stop at 5; GetStream uses 13–15 of GetManyRequest/Response). */
const unknownField = fc.oneof(fc.integer({ min: 6, max: 12 }), fc.integer({ min: 16, max: (1 << 29) - 1 }));

export const unknownFields: fc.Arbitrary<Unknown[]> = fc.letrec<{ field: Unknown; fields: Unknown[] }>((tie) => ({
  field: fc.oneof(
    { depthSize: 'small' },
    fc.record({ kind: fc.constant('varint' as const), field: unknownField, value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
    fc.record({ kind: fc.constant('i64' as const), field: unknownField, value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
    fc.record({ kind: fc.constant('i32' as const), field: unknownField, value: fc.integer({ min: 0, max: 0xffff_ffff }) }),
    fc.record({ kind: fc.constant('len' as const), field: unknownField, value: fc.uint8Array({ maxLength: 40 }) }),
    fc.record({ kind: fc.constant('group' as const), field: unknownField, inner: tie('fields') as fc.Arbitrary<Unknown[]> }),
  ),
  fields: fc.array(tie('field') as fc.Arbitrary<Unknown>, { maxLength: 3 }),
})).fields;

/** Serializes unknown fields with protobufjs's Writer (not with the code under test). */
export function writeUnknown(fields: Unknown[], w = Writer.create()): protobuf.Writer {
  for (const f of fields) {
    switch (f.kind) {
      case 'varint':
        w.uint32((f.field << 3) | 0).uint64(f.value.toString() as unknown as number);
        break;
      case 'i64':
        w.uint32((f.field << 3) | 1).fixed64(f.value.toString() as unknown as number);
        break;
      case 'i32':
        w.uint32((f.field << 3) | 5).fixed32(f.value);
        break;
      case 'len':
        w.uint32((f.field << 3) | 2).bytes(f.value);
        break;
      case 'group':
        w.uint32((f.field << 3) | 3);
        writeUnknown(f.inner, w);
        w.uint32((f.field << 3) | 4);
        break;
    }
  }
  return w;
}

/** Copied, as protobufjs's Writer hands out slices of a reused pool. */
export function unknownBytes(fields: Unknown[]): Uint8Array {
  return Uint8Array.from(writeUnknown(fields).finish());
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
