/**
 * GetManyRequest, RemoveRequest and InvalidateRequest: { string group = 1; repeated bytes keys = 2; },
 * and GetManyRequest's `uint32 batch = 15` (GetStream).
 * The batching path sends one of these per batch, so keys go from the callers' strings straight
 * into the one message buffer (no Buffer per key).
 */
import { Reader, WIRE_LEN, WIRE_VARINT } from './reader.js';
import { keyBytes } from './key.js';
import { MessageType, type KeysRequestIn, type KeysRequestOut } from './messages.js';
import { lenFieldSize, stringBytes, varintSize, writeBytesField, writeStringField, writeVarint } from './writer.js';

/** Tag of GetManyRequest.batch and GetManyResponse.batch: field 15, varint. */
export const BATCH_TAG = 0x78;

/** UTF-8 lengths from the size pass, kept for the write pass (encoding is synchronous, so one suffices). */
let lengths = new Int32Array(256);

/** `head`: already-encoded extra fields written first (see GetManyResponseEncoder.finish). */
export function encodeKeysRequest(msg: KeysRequestIn, head?: Uint8Array): Buffer {
  const { group, keys } = msg;
  const n = keys.length;
  if (lengths.length < n) lengths = new Int32Array(Math.max(n, lengths.length * 2));
  const groupBytes = stringBytes(group);
  let size = groupBytes > 0 ? lenFieldSize(groupBytes) : 0;
  for (let i = 0; i < n; i++) {
    const kb = keyBytes(keys[i]!);
    lengths[i] = kb;
    size += lenFieldSize(kb); // repeated: every element is written, empty ones too
  }
  const batch = msg.batch ?? 0;
  if (!Number.isInteger(batch) || batch < 0 || batch > 0xffff_ffff) throw new RangeError(`batch must be a uint32, got ${batch}`);
  if (batch > 0) size += 1 + varintSize(batch);
  const headLength = head === undefined ? 0 : head.length;
  const buf = Buffer.allocUnsafe(headLength + size);
  if (head !== undefined) buf.set(head, 0);
  let pos = groupBytes > 0 ? writeStringField(buf, headLength, 1, group, groupBytes) : headLength;
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    pos = typeof key === 'string' ? writeStringField(buf, pos, 2, key, lengths[i]!) : writeBytesField(buf, pos, 2, key);
  }
  if (batch > 0) {
    buf[pos++] = BATCH_TAG;
    writeVarint(buf, pos, batch);
  }
  return buf;
}

/** `withBatch`: field 15 is GetManyRequest.batch (unknown, so skipped, in the other two). */
function decodeKeysRequest(buf: Uint8Array, type: string, withBatch: boolean): KeysRequestOut {
  const r = new Reader(buf, type);
  let group = '';
  let batch = 0;
  const keys: Uint8Array[] = [];
  while (r.next()) {
    if (r.field === 2) {
      r.expect(WIRE_LEN);
      keys.push(r.bytes());
    } else if (r.field === 1) {
      r.expect(WIRE_LEN);
      group = r.string();
    } else if (r.field === 15 && withBatch) {
      r.expect(WIRE_VARINT);
      batch = r.uint32();
    } else r.skip();
  }
  return { group, keys, batch };
}

export const encodeGetManyRequest = encodeKeysRequest;
export const encodeRemoveRequest = encodeKeysRequest;
export const encodeInvalidateRequest = encodeKeysRequest;

export function decodeGetManyRequest(buf: Uint8Array): KeysRequestOut {
  return decodeKeysRequest(buf, MessageType.GetManyRequest, true);
}
export function decodeRemoveRequest(buf: Uint8Array): KeysRequestOut {
  return decodeKeysRequest(buf, MessageType.RemoveRequest, false);
}
export function decodeInvalidateRequest(buf: Uint8Array): KeysRequestOut {
  return decodeKeysRequest(buf, MessageType.InvalidateRequest, false);
}
