/**
 * A bounds-checked protobuf wire reader over one message buffer. Every read checks against `end`
 * before touching a byte, so a truncated or hostile message ends in a WireError, never in an
 * out-of-range read or an `undefined` silently coerced to 0.
 *
 * One Reader is made per decoded message; nested messages (GetManyItem) reuse it by narrowing
 * `end` for the duration of the item, so decoding allocates nothing per field.
 */
import { WireError } from './errors.js';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_SGROUP = 3;
export const WIRE_EGROUP = 4;
export const WIRE_I32 = 5;

/** Deepest nesting of (deprecated) groups we skip; the reference C++ parser's default limit. */
const MAX_GROUP_DEPTH = 100;

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  pos: number;
  end: number;
  /** Field number of the last tag read. */
  field = 0;
  /** Wire type of the last tag read. */
  wireType = 0;
  /** High 32 bits of the last multi-byte varint (for int64 fields). */
  private hi = 0;

  constructor(
    readonly buf: Uint8Array,
    readonly type: string,
  ) {
    this.pos = 0;
    this.end = buf.length;
  }

  fail(reason: string, at = this.pos): never {
    throw new WireError(this.type, at, reason);
  }

  /** Reads the next tag into `field`/`wireType`; false at the end of the current (sub)message. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const at = this.pos;
    const tag = this.varint();
    if (this.hi !== 0) this.fail('tag does not fit in 32 bits', at);
    const field = tag >>> 3;
    if (field === 0) this.fail('field number 0', at);
    this.field = field;
    this.wireType = tag & 7;
    return true;
  }

  /** Fails unless the last tag had `wireType` (a known field sent with the wrong type is corrupt). */
  expect(wireType: number): void {
    if (this.wireType !== wireType) {
      if (this.wireType > WIRE_I32) this.fail(`field ${this.field} has invalid wire type ${this.wireType}`);
      this.fail(`field ${this.field} has wire type ${this.wireType}, expected ${wireType}`);
    }
  }

  /**
   * A varint; returns its low 32 bits (unsigned) and keeps the high bits in `hi`. Up to 10 bytes,
   * as protobuf allows; an 11th continuation byte or a varint running past `end` is an error.
   */
  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < this.end) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        this.hi = 0;
        return b;
      }
    }
    const start = pos;
    let lo = 0;
    let hi = 0;
    // Bytes 0..3 carry bits 0..27, byte 4 bits 28..34 (split across lo and hi), 5..9 bits 35..69.
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= this.end) this.fail('varint runs past the end of the message', start);
      const b = buf[pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.hi = 0;
        return lo >>> 0;
      }
    }
    if (pos >= this.end) this.fail('varint runs past the end of the message', start);
    let b = buf[pos++]!;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (pos - start >= 10) this.fail('varint longer than 10 bytes', start);
        if (pos >= this.end) this.fail('varint runs past the end of the message', start);
        b = buf[pos++]!;
        // Bits beyond 64 (the 10th byte's upper bits) are dropped, as every protobuf parser does.
        if (shift < 32) hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.pos = pos;
    this.hi = hi >>> 0;
    return lo >>> 0;
  }

  /** uint32 / enum field: the low 32 bits of the varint, as protobuf truncates. */
  uint32(): number {
    return this.varint();
  }

  /** bool field: any non-zero varint is true (as protobuf decoders read it). */
  bool(): boolean {
    const lo = this.varint();
    return lo !== 0 || this.hi !== 0;
  }

  /** int32 field: negative values arrive as 10-byte sign-extended varints. */
  int32(): number {
    return this.varint() | 0;
  }

  /** int64 field as a JS number (exact up to 2^53, rounded beyond, like protobufjs with longs: Number). */
  int64(): number {
    const lo = this.varint();
    return (this.hi | 0) * 0x1_0000_0000 + lo;
  }

  /** A length-delimited field's length; `pos` is left at its first byte, which is in bounds. */
  len(): number {
    const at = this.pos;
    const n = this.varint();
    if (this.hi !== 0 || n > this.end - this.pos) {
      const declared = this.hi !== 0 ? 'more than 2^32' : String(n);
      this.fail(`length ${declared} runs past the end of the message (${this.end - this.pos} bytes left)`, at);
    }
    return n;
  }

  /** A bytes field as a view of the message buffer (no copy). */
  bytes(): Uint8Array {
    const n = this.len();
    const start = this.pos;
    this.pos = start + n;
    return this.buf.subarray(start, start + n);
  }

  /** A string field; invalid UTF-8 is an error (proto3 requires valid UTF-8 in strings). */
  string(): string {
    const n = this.len();
    const start = this.pos;
    const end = start + n;
    this.pos = end;
    if (n <= 32) {
      // Short ASCII (group names, error kinds) without a subarray or a decoder call.
      let s = '';
      let i = start;
      for (; i < end; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === end) return s;
    }
    try {
      return utf8Strict.decode(this.buf.subarray(start, end));
    } catch {
      return this.fail(`field ${this.field} is not valid UTF-8`, start);
    }
  }

  /** Skips the value of the last tag (an unknown field), checking that it is complete. */
  skip(depth = 0): void {
    switch (this.wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.fixed(8);
        return;
      case WIRE_LEN: {
        const n = this.len(); // before reading pos: `this.pos += this.len()` would use the old pos
        this.pos += n;
        return;
      }
      case WIRE_I32:
        this.fixed(4);
        return;
      case WIRE_SGROUP: {
        if (depth >= MAX_GROUP_DEPTH) this.fail(`groups nested deeper than ${MAX_GROUP_DEPTH}`);
        const group = this.field;
        const at = this.pos;
        for (;;) {
          if (!this.next()) this.fail(`group ${group} is not closed`, at);
          const wireType: number = this.wireType;
          if (wireType === WIRE_EGROUP) {
            if (this.field !== group) this.fail(`group ${group} closed by end-group ${this.field}`);
            return;
          }
          this.skip(depth + 1);
        }
      }
      case WIRE_EGROUP:
        return this.fail(`end-group ${this.field} without a start-group`);
      default:
        return this.fail(`field ${this.field} has invalid wire type ${this.wireType}`);
    }
  }

  private fixed(n: number): void {
    if (n > this.end - this.pos) this.fail(`fixed-width field ${this.field} runs past the end of the message`);
    this.pos += n;
  }
}
