/**
 * Writes GetManyResponse / HandoffResponse messages in one pass, each value copied once — from
 * wherever the caller holds it (a view of the cache's I/O area that the next cache call
 * overwrites, a loaded value) straight into the message — with no sizing pass and no buffer per
 * message.
 *
 * Messages are carved out of slabs: each `finish` returns a view of the current slab, and the next
 * message starts right after it, so a message is never rewritten once returned (grpc-js may hold
 * a message in a stream's write queue before it frames it). A message that outgrows what is left
 * of the slab moves to a fresh one (what it wrote so far is copied along, once). A slab lives as
 * long as a message carved from it.
 *
 *     slab:  [ msg 1 (returned) | msg 2 (returned) | msg 3 being written →      free       ]
 *                                                  ^start               ^pos                ^slab.length
 *
 * Item layout (GetManyItem, field 1 of the response): 0x0a, body length, status (0x08 n), then a
 * value (0x12, length, bytes) or error details (code 0x18, kind 0x22, message 0x2a). Fields after
 * the items (`finish`'s tail: GetStream's `more` 13, `slots` 14, `batch` 15, or Handoff's
 * `holds_nothing` 2) may come in any order in protobuf; decoders that do not know them skip them.
 *
 * Synchronous use only: one message from `begin` to `finish`, no other message in between.
 */
import { ItemStatus, type ResponseTail } from './messages.js';
import { tailSize, writeTail } from './response-tail.js';
import { int32Size, lenFieldSize, stringBytes, varintSize, writeInt32, writeStringField, writeVarint } from './writer.js';

/** Default slab size: a few dozen 100 B responses, or one 4 KB × 64 response, per allocation. */
const SLAB_BYTES = 256 << 10;
/** Largest item header: tag, 5-byte body length, status (2), value tag, 5-byte value length. */
const MAX_ITEM_HEADER = 1 + 5 + 2 + 1 + 5;
/** Room kept for the tail: batch (6), more (2), holds_nothing (2), slots tag and length (6), plus one varint (≤ 5) per item. */
const TAIL_BYTES = 16;
const SLOT_BYTES = 5;

export interface GetManyResponseWriterOptions {
  /**
   * Budget for one message, tail included: a FOUND item that would cross it is written as
   * TOO_LARGE instead (the caller fetches it with Get). Leave room below the gRPC message limit
   * for the TOO_LARGE markers (1 + 1 + 2 bytes each). Default: no limit.
   */
  maxBytes?: number;
  /** Slab size. Default 256 KiB. */
  slabBytes?: number;
}

export class GetManyResponseWriter {
  readonly maxBytes: number;
  private readonly slabBytes: number;
  private slab: Buffer;
  private start = 0;
  private pos = 0;
  private items = 0;

  constructor(options: GetManyResponseWriterOptions = {}) {
    this.maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
    this.slabBytes = Math.max(1024, options.slabBytes ?? SLAB_BYTES);
    this.slab = Buffer.allocUnsafeSlow(this.slabBytes);
  }

  /** Items written into the current message. */
  get count(): number {
    return this.items;
  }

  /** Bytes of the current message so far (items, and raw bytes appended). */
  get byteLength(): number {
    return this.pos - this.start;
  }

  /**
   * Start a message (drops one begun and not finished). `sizeHint`: the bytes it is expected to
   * take; when the slab has less room left, the message starts in a fresh slab that fits it, so a
   * large message is not moved (copied) halfway through.
   */
  begin(sizeHint = 0): this {
    this.pos = this.start;
    this.items = 0;
    if (sizeHint > this.slab.length - this.start) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(this.slabBytes, sizeHint + (sizeHint >>> 3)));
      this.start = this.pos = 0;
    }
    return this;
  }

  /**
   * A FOUND item with `value`, copied now. Returns false when it would take the message past
   * `maxBytes`: it is written as TOO_LARGE instead.
   */
  found(value: Uint8Array): boolean {
    const len = value.length;
    const body = 2 + (len > 0 ? lenFieldSize(len) : 0);
    const size = 1 + varintSize(body) + body;
    if (this.pos - this.start + size + TAIL_BYTES + SLOT_BYTES * (this.items + 1) > this.maxBytes) {
      this.statusOnly(ItemStatus.TOO_LARGE);
      return false;
    }
    this.ensure(MAX_ITEM_HEADER + len);
    const buf = this.slab;
    let pos = this.pos;
    buf[pos++] = 0x0a; // items = 1, length-delimited
    pos = writeVarint(buf, pos, body);
    buf[pos++] = 0x08; // status = 1
    buf[pos++] = ItemStatus.FOUND;
    if (len > 0) {
      buf[pos++] = 0x12; // value = 2, length-delimited
      pos = writeVarint(buf, pos, len);
      buf.set(value, pos);
      pos += len;
    }
    this.pos = pos;
    this.items++;
    return true;
  }

  notFound(): void {
    this.statusOnly(ItemStatus.NOT_FOUND);
  }

  tooLarge(): void {
    this.statusOnly(ItemStatus.TOO_LARGE);
  }

  /** An ERROR item: `code` the gRPC status a Get would have had, `kind` the arenacache-error kind. */
  error(code: number, kind: string, message: string): void {
    const kindBytes = stringBytes(kind);
    const messageBytes = stringBytes(message);
    const body =
      2 + (code !== 0 ? 1 + int32Size(code) : 0) + (kindBytes > 0 ? lenFieldSize(kindBytes) : 0) + (messageBytes > 0 ? lenFieldSize(messageBytes) : 0);
    this.ensure(1 + 5 + body);
    const buf = this.slab;
    let pos = this.pos;
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, body);
    buf[pos++] = 0x08;
    buf[pos++] = ItemStatus.ERROR;
    if (code !== 0) {
      buf[pos++] = 0x18; // code = 3, varint
      pos = writeInt32(buf, pos, code);
    }
    if (kindBytes > 0) pos = writeStringField(buf, pos, 4, kind, kindBytes);
    if (messageBytes > 0) pos = writeStringField(buf, pos, 5, message, messageBytes);
    this.pos = pos;
    this.items++;
  }

  /** Already-encoded items (from `detach`), appended as they are; `items` is how many they hold. */
  raw(bytes: Uint8Array, items: number): void {
    this.ensure(bytes.length);
    this.slab.set(bytes, this.pos);
    this.pos += bytes.length;
    this.items += items;
  }

  /**
   * The items written so far, as a copy the caller keeps (to go on with the message later, across
   * an await: `begin()`, `raw(bytes, items)`, ...); the current message is dropped.
   */
  detach(): { bytes: Buffer; items: number } {
    const out = { bytes: Buffer.from(this.slab.subarray(this.start, this.pos)), items: this.items };
    this.begin();
    return out;
  }

  /** The message: the items, then the tail's fields. A view of the slab, never written again. */
  finish(tail?: ResponseTail): Buffer {
    if (tail !== undefined) this.writeTail(tail);
    const out = this.slab.subarray(this.start, this.pos);
    this.start = this.pos;
    this.items = 0;
    return out;
  }

  private writeTail(tail: ResponseTail): void {
    this.ensure(tailSize(tail));
    this.pos = writeTail(this.slab, this.pos, tail);
  }

  private statusOnly(status: number): void {
    this.ensure(4);
    const buf = this.slab;
    buf[this.pos++] = 0x0a;
    buf[this.pos++] = 2;
    buf[this.pos++] = 0x08;
    buf[this.pos++] = status;
    this.items++;
  }

  /** Room for `n` more bytes of the current message, moving it to a fresh slab if needed. */
  private ensure(n: number): void {
    if (this.pos + n <= this.slab.length) return;
    const used = this.pos - this.start;
    const next = Buffer.allocUnsafeSlow(Math.max(this.slabBytes, 2 * (used + n)));
    this.slab.copy(next, 0, this.start, this.pos);
    this.slab = next;
    this.start = 0;
    this.pos = used;
  }
}
