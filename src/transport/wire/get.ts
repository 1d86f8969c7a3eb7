/**
 * Get: GetRequest { string group = 1; bytes key = 2; } and GetResponse { bytes value = 1; }.
 */
import { Reader, WIRE_LEN } from './reader.js';
import { keyBytes } from './key.js';
import { MessageType, type GetRequestIn, type GetRequestOut, type ValueSource } from './messages.js';
import { lenFieldSize, stringBytes, writeBytesField, writeStringField, writeVarint } from './writer.js';
import { WireError } from './errors.js';

const EMPTY = new Uint8Array(0);

export function encodeGetRequest(msg: GetRequestIn): Buffer {
  const groupBytes = stringBytes(msg.group);
  const key = msg.key;
  const kb = keyBytes(key);
  // proto3 leaves empty scalars out; decoders give them their default.
  const size = (groupBytes > 0 ? lenFieldSize(groupBytes) : 0) + (kb > 0 ? lenFieldSize(kb) : 0);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  if (groupBytes > 0) pos = writeStringField(buf, pos, 1, msg.group, groupBytes);
  if (kb > 0) pos = typeof key === 'string' ? writeStringField(buf, pos, 2, key, kb) : writeBytesField(buf, pos, 2, key);
  return buf;
}

export function decodeGetRequest(buf: Uint8Array): GetRequestOut {
  const r = new Reader(buf, MessageType.GetRequest);
  let group = '';
  let key: Uint8Array = EMPTY;
  while (r.next()) {
    if (r.field === 1) {
      r.expect(WIRE_LEN);
      group = r.string();
    } else if (r.field === 2) {
      r.expect(WIRE_LEN);
      key = r.bytes();
    } else r.skip();
  }
  return { group, key };
}

/** GetResponse carrying `value`, copied once into the message. */
export function encodeGetResponse(value: Uint8Array): Buffer {
  if (value.length === 0) return Buffer.allocUnsafe(0);
  const buf = Buffer.allocUnsafe(lenFieldSize(value.length));
  writeBytesField(buf, 0, 1, value);
  return buf;
}

/**
 * GetResponse whose value of `length` bytes is copied by `source(0, …)` straight into the message
 * (e.g. from the cache's arena), with no intermediate copy.
 */
export function encodeGetResponseFrom(length: number, source: ValueSource): Buffer {
  if (length === 0) return Buffer.allocUnsafe(0);
  const buf = Buffer.allocUnsafe(lenFieldSize(length));
  buf[0] = 0x0a;
  const at = writeVarint(buf, 1, length);
  const n = source(0, buf, at, length);
  if (n !== length) throw new WireError(MessageType.GetResponse, at, `value source wrote ${n} bytes, ${length} were sized`);
  return buf;
}

export function decodeGetResponse(buf: Uint8Array): { value: Uint8Array } {
  const r = new Reader(buf, MessageType.GetResponse);
  let value: Uint8Array = EMPTY;
  while (r.next()) {
    if (r.field === 1) {
      r.expect(WIRE_LEN);
      value = r.bytes();
    } else r.skip();
  }
  return { value };
}
