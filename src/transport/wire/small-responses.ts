/**
 * The small responses: SetResponse {}, InvalidateResponse {}, RemoveResponse { uint32 removed = 1; }.
 * Their decoders still walk the message, so a garbled reply is an error rather than "ok".
 */
import { Reader, WIRE_VARINT } from './reader.js';
import { MessageType } from './messages.js';
import { varintSize, writeVarint } from './writer.js';

const NOTHING = Buffer.alloc(0);

/** SetResponse and InvalidateResponse have no fields: the empty message. */
export function encodeEmpty(): Buffer {
  return NOTHING;
}

function decodeEmpty(buf: Uint8Array, type: string): Record<string, never> {
  const r = new Reader(buf, type);
  while (r.next()) r.skip();
  return {};
}

export function decodeSetResponse(buf: Uint8Array): Record<string, never> {
  return decodeEmpty(buf, MessageType.SetResponse);
}

export function decodeInvalidateResponse(buf: Uint8Array): Record<string, never> {
  return decodeEmpty(buf, MessageType.InvalidateResponse);
}

export function encodeRemoveResponse(msg: { removed: number }): Buffer {
  const n = msg.removed >>> 0;
  if (n === 0) return NOTHING;
  const buf = Buffer.allocUnsafe(1 + varintSize(n));
  buf[0] = 0x08; // removed = 1, varint
  writeVarint(buf, 1, n);
  return buf;
}

export function decodeRemoveResponse(buf: Uint8Array): { removed: number } {
  const r = new Reader(buf, MessageType.RemoveResponse);
  let removed = 0;
  while (r.next()) {
    if (r.field === 1) {
      r.expect(WIRE_VARINT);
      removed = r.uint32();
    } else r.skip();
  }
  return { removed };
}
