/**
 * The fields a GetManyResponse or HandoffResponse carries besides its items: GetStream's
 * `more = 13`, `slots = 14` (packed) and `batch = 15`, HandoffResponse's `holds_nothing = 2`.
 * Both response encoders write them with these two functions (after the items, or before them:
 * field order is free in protobuf).
 */
import type { ResponseTail } from './messages.js';
import { varintSize, writeVarint } from './writer.js';

function slotBytes(slots: ArrayLike<number> | undefined): number {
  let n = 0;
  if (slots !== undefined) for (let i = 0; i < slots.length; i++) n += varintSize(slots[i]!);
  return n;
}

/** Bytes `writeTail` writes for `tail`. */
export function tailSize(tail: ResponseTail): number {
  const s = slotBytes(tail.slots);
  return (
    (tail.holdsNothing ? 2 : 0) +
    (tail.more ? 2 : 0) +
    (s > 0 ? 1 + varintSize(s) + s : 0) +
    (tail.batch !== undefined && tail.batch > 0 ? 1 + varintSize(tail.batch) : 0)
  );
}

/** Writes the tail's fields at `pos` (room for tailSize(tail) bytes); returns the next offset. */
export function writeTail(buf: Uint8Array, pos: number, tail: ResponseTail): number {
  if (tail.holdsNothing) {
    buf[pos++] = 0x10; // holds_nothing = 2, varint
    buf[pos++] = 1;
  }
  if (tail.more) {
    buf[pos++] = 0x68; // more = 13, varint
    buf[pos++] = 1;
  }
  const slots = tail.slots;
  const s = slotBytes(slots);
  if (s > 0) {
    buf[pos++] = 0x72; // slots = 14, length-delimited (packed)
    pos = writeVarint(buf, pos, s);
    for (let i = 0; i < slots!.length; i++) pos = writeVarint(buf, pos, slots![i]!);
  }
  if (tail.batch !== undefined && tail.batch > 0) {
    buf[pos++] = 0x78; // batch = 15, varint
    pos = writeVarint(buf, pos, tail.batch);
  }
  return pos;
}
