/**
 * FlushRequest { string group = 1; } and FlushResponse { uint32 dropped = 1; }.
 */
import { Reader, WIRE_LEN, WIRE_VARINT } from './reader.js';
import { MessageType } from './messages.js';
import { lenFieldSize, stringBytes, varintSize, writeStringField, writeVarint } from './writer.js';

const NOTHING = Buffer.alloc(0);

export function encodeFlushRequest(msg: { group: string }): Buffer {
  const groupBytes = stringBytes(msg.group);
  if (groupBytes === 0) return NOTHING;
  const buf = Buffer.allocUnsafe(lenFieldSize(groupBytes));
  writeStringField(buf, 0, 1, msg.group, groupBytes);
  return buf;
}

export function decodeFlushRequest(buf: Uint8Array): { group: string } {
  const r = new Reader(buf, MessageType.FlushRequest);
  let group = '';
  while (r.next()) {
    if (r.field === 1) {
      r.expect(WIRE_LEN);
      group = r.string();
    } else r.skip();
  }
  return { group };
}

/** `dropped` above 2^32-1 is sent as 2^32-1 (the field is a uint32). */
export function encodeFlushResponse(msg: { dropped: number }): Buffer {
  const n = Math.min(Math.max(0, Math.floor(msg.dropped)), 0xffff_ffff);
  if (n === 0) return NOTHING;
  const buf = Buffer.allocUnsafe(1 + varintSize(n));
  buf[0] = 0x08; // dropped = 1, varint
  writeVarint(buf, 1, n);
  return buf;
}

export function decodeFlushResponse(buf: Uint8Array): { dropped: number } {
  const r = new Reader(buf, MessageType.FlushResponse);
  let dropped = 0;
  while (r.next()) {
    if (r.field === 1) {
      r.expect(WIRE_VARINT);
      dropped = r.uint32();
    } else r.skip();
  }
  return { dropped };
}
