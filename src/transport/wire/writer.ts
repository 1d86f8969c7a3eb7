/**
 * Sizing and writing protobuf fields into a Buffer the encoder allocated at its exact final size.
 * Encoders first add up `*Size` of every field, allocate once, then call the `write*` functions,
 * each of which returns the next offset. Nothing here grows or checks capacity: the size pass is
 * the contract, and the encoders assert at the end that they wrote exactly what they sized.
 */
import { utf8Length } from '../../core/codec.js';

const encoder = new TextEncoder();

/** Bytes of `n` (0 ≤ n < 2^32) as a varint. */
export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : n < 0x1000_0000 ? 4 : 5;
}

/** Bytes of a signed int32 as protobuf writes it: negatives are sign-extended to 10 bytes. */
export function int32Size(n: number): number {
  return n < 0 ? 10 : varintSize(n);
}

/** Bytes of an int64 held in a JS number (a safe integer). */
export function int64Size(n: number): number {
  if (n < 0) return 10;
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Bytes of a length-delimited field with a one-byte tag (field numbers 1..15) and `len` data bytes. */
export function lenFieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/** UTF-8 length of a string field's text (lone surrogates count as U+FFFD, as they are written). */
export const stringBytes = utf8Length;

export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

export function writeInt32(buf: Uint8Array, pos: number, n: number): number {
  if (n >= 0) return writeVarint(buf, pos, n);
  // Two's complement over 64 bits: the low 32 bits, then 0xffffffff as the high word.
  let lo = n >>> 0;
  for (let i = 0; i < 4; i++) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  buf[pos++] = (lo & 0x0f) | 0x70 | 0x80; // bits 28..31 of lo, bits 32..34 of hi (all ones)
  for (let i = 0; i < 4; i++) buf[pos++] = 0xff;
  buf[pos++] = 0x01;
  return pos;
}

export function writeInt64(buf: Uint8Array, pos: number, n: number): number {
  if (n >= 0 && n < 0x1_0000_0000) return writeVarint(buf, pos, n);
  let lo = n >>> 0; // n mod 2^32, for negatives too (ToUint32 is modular)
  let hi = Math.floor(n / 0x1_0000_0000) >>> 0; // all ones for negatives: 10 bytes, as protobuf
  for (;;) {
    const more = hi !== 0 || lo >= 0x80;
    buf[pos++] = (lo & 0x7f) | (more ? 0x80 : 0);
    if (!more) return pos;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
}

export function writeTag(buf: Uint8Array, pos: number, field: number, wireType: number): number {
  return writeVarint(buf, pos, (field << 3) | wireType);
}

/** A bytes field: tag, length, then the bytes copied once. */
export function writeBytesField(buf: Uint8Array, pos: number, field: number, value: Uint8Array): number {
  buf[pos++] = (field << 3) | 2;
  pos = writeVarint(buf, pos, value.length);
  buf.set(value, pos);
  return pos + value.length;
}

/** A string (or UTF-8 key) field whose byte length the size pass computed as `bytes`. */
export function writeStringField(buf: Uint8Array, pos: number, field: number, text: string, bytes: number): number {
  buf[pos++] = (field << 3) | 2;
  pos = writeVarint(buf, pos, bytes);
  // The view ends where the size pass said the text ends: encodeInto cannot write past it.
  if (bytes > 0 && encoder.encodeInto(text, buf.subarray(pos, pos + bytes)).written !== bytes) {
    throw new Error(`string changed length between sizing and writing (${bytes} bytes sized)`);
  }
  return pos + bytes;
}
