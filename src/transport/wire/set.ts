/**
 * SetRequest { string group = 1; bytes key = 2; bytes value = 3; optional int64 ttl_ms = 4; }.
 * The value is copied once, into the message.
 */
import { Reader, WIRE_LEN, WIRE_VARINT } from './reader.js';
import { keyBytes } from './key.js';
import { MessageType, type SetRequestIn, type SetRequestOut } from './messages.js';
import { int64Size, lenFieldSize, stringBytes, writeBytesField, writeInt64, writeStringField } from './writer.js';

const EMPTY = new Uint8Array(0);

export function encodeSetRequest(msg: SetRequestIn): Buffer {
  const groupBytes = stringBytes(msg.group);
  const kb = keyBytes(msg.key);
  const { value, ttlMs } = msg;
  if (ttlMs !== undefined && !Number.isSafeInteger(ttlMs)) throw new RangeError(`ttlMs must be a safe integer, got ${ttlMs}`);
  const size =
    (groupBytes > 0 ? lenFieldSize(groupBytes) : 0) +
    (kb > 0 ? lenFieldSize(kb) : 0) +
    (value.length > 0 ? lenFieldSize(value.length) : 0) +
    (ttlMs !== undefined ? 1 + int64Size(ttlMs) : 0);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  if (groupBytes > 0) pos = writeStringField(buf, pos, 1, msg.group, groupBytes);
  if (kb > 0) pos = typeof msg.key === 'string' ? writeStringField(buf, pos, 2, msg.key, kb) : writeBytesField(buf, pos, 2, msg.key);
  if (value.length > 0) pos = writeBytesField(buf, pos, 3, value);
  if (ttlMs !== undefined) {
    buf[pos++] = 0x20; // ttl_ms = 4, varint; `optional`: written even when 0
    pos = writeInt64(buf, pos, ttlMs);
  }
  return buf;
}

export function decodeSetRequest(buf: Uint8Array): SetRequestOut {
  const r = new Reader(buf, MessageType.SetRequest);
  let group = '';
  let key: Uint8Array = EMPTY;
  let value: Uint8Array = EMPTY;
  let ttlMs: number | undefined;
  while (r.next()) {
    switch (r.field) {
      case 1:
        r.expect(WIRE_LEN);
        group = r.string();
        break;
      case 2:
        r.expect(WIRE_LEN);
        key = r.bytes();
        break;
      case 3:
        r.expect(WIRE_LEN);
        value = r.bytes();
        break;
      case 4:
        r.expect(WIRE_VARINT);
        ttlMs = r.int64();
        break;
      default:
        r.skip();
    }
  }
  return { group, key, value, ttlMs };
}
