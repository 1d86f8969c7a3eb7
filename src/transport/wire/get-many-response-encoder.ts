/**
 * GetManyResponse { repeated GetManyItem items = 1; } with
 * GetManyItem { Status status = 1; bytes value = 2; int32 code = 3; string kind = 4; string message = 5; }.
 *
 * Two passes, one allocation. Pass 1 (`found`, `notFound`, `error`, `tooLarge`, in item order)
 * records each item's status and size in typed arrays and keeps a running total; an item that
 * would push the message past `maxBytes` becomes TOO_LARGE there and then (the client fetches it
 * with Get), so the limit is exact instead of estimated. Pass 2 (`finish`) allocates the message
 * once at its exact size and writes it; each value is copied exactly once, either from the
 * Uint8Array given in pass 1 or by a ValueSource straight from where it lives (the cache's arena).
 *
 * An encoder can be reused (`reset`) but not interleaved: pass 1 and pass 2 of one response must
 * not be split by an await if other responses share the instance.
 */
import { WireError } from './errors.js';
import { ItemStatus, MessageType, type ResponseTail, type ValueSource } from './messages.js';
import { tailSize, writeTail } from './response-tail.js';
import { int32Size, lenFieldSize, stringBytes, varintSize, writeBytesField, writeInt32, writeStringField, writeVarint } from './writer.js';

interface ErrorDetail {
  code: number;
  kind: string;
  message: string;
  kindBytes: number;
  messageBytes: number;
}

/** Bytes an item body of `body` bytes takes in the response (tag 1, length, body). */
function itemSize(body: number): number {
  return 1 + varintSize(body) + body;
}

/** The status field; proto3 leaves the default (UNSPECIFIED = 0) out. Enums are int32 on the wire. */
function statusSize(status: number): number {
  return status === 0 ? 0 : 1 + int32Size(status);
}

function writeStatus(buf: Uint8Array, pos: number, status: number): number {
  if (status === 0) return pos;
  buf[pos++] = 0x08; // status = 1, varint
  return writeInt32(buf, pos, status);
}

/** How pass 2 writes an item. */
const STATUS_ONLY = 0;
const WITH_VALUE = 1;
const WITH_DETAIL = 2;

export interface GetManyResponseEncoderOptions {
  /**
   * Budget for the message: a FOUND item that would cross it becomes TOO_LARGE. Refused items
   * still cost their 4-byte marker, so leave that margin below the gRPC message limit (the server
   * keeps one already). Default: no limit.
   */
  maxBytes?: number;
  /** Items to make room for up front (grows as needed). Default 64. */
  capacity?: number;
}

export class GetManyResponseEncoder {
  readonly maxBytes: number;
  private shape: Uint8Array;
  private status: Int32Array;
  /** Value length (WITH_VALUE) or body length (WITH_DETAIL) per item. */
  private lengths: Int32Array;
  private values: Array<Uint8Array | undefined> = [];
  private details: ErrorDetail[] = [];
  private n = 0;
  private size = 0;

  constructor(options: GetManyResponseEncoderOptions = {}) {
    this.maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
    const cap = Math.max(1, options.capacity ?? 64);
    this.shape = new Uint8Array(cap);
    this.status = new Int32Array(cap);
    this.lengths = new Int32Array(cap);
  }

  /** Items recorded so far. */
  get count(): number {
    return this.n;
  }

  /** Size of the message `finish` will produce. */
  get byteLength(): number {
    return this.size;
  }

  /** Start a new response (drops references to the previous one's values). */
  reset(): this {
    this.n = 0;
    this.size = 0;
    this.values.length = 0;
    this.details.length = 0;
    return this;
  }

  /**
   * A FOUND item whose `length` bytes `finish`'s ValueSource will copy. Returns false when it did
   * not fit under `maxBytes` and was recorded as TOO_LARGE instead.
   */
  found(length: number): boolean {
    return this.withValue(length, undefined);
  }

  /** A FOUND item with its value at hand; `value` must not change before `finish`. */
  foundValue(value: Uint8Array): boolean {
    return this.withValue(value.length, value);
  }

  notFound(): void {
    this.statusOnly(ItemStatus.NOT_FOUND);
  }

  tooLarge(): void {
    this.statusOnly(ItemStatus.TOO_LARGE);
  }

  /** An ERROR item: `code` the gRPC status a Get would have had, `kind` the arenacache-error kind. */
  error(code: number, kind: string, message: string): void {
    this.detailed(ItemStatus.ERROR, code, kind, message);
  }

  /** Any status with optional code/kind/message (forward compatibility; `error` is the usual one). */
  detailed(status: number, code: number, kind: string, message: string): void {
    const kindBytes = stringBytes(kind);
    const messageBytes = stringBytes(message);
    const body =
      statusSize(status) +
      (code !== 0 ? 1 + int32Size(code) : 0) +
      (kindBytes > 0 ? lenFieldSize(kindBytes) : 0) +
      (messageBytes > 0 ? lenFieldSize(messageBytes) : 0);
    const i = this.slot(WITH_DETAIL, status);
    this.lengths[i] = body;
    this.details.push({ code, kind, message, kindBytes, messageBytes });
    this.size += itemSize(body);
  }

  /**
   * Pass 2: the message, allocated once at its exact size. `source` copies every FOUND value
   * recorded with `found(length)` (not needed when all came with `foundValue`). `head`, if given,
   * is written first: already-encoded extra fields (a stream frame's batch id, say), which
   * decoders that do not know them skip.
   */
  finish(source?: ValueSource, head?: Uint8Array): Buffer {
    const headLength = head === undefined ? 0 : head.length;
    const buf = Buffer.allocUnsafe(headLength + this.size);
    const { shape, status, lengths, values, details } = this;
    let pos = 0;
    if (head !== undefined) {
      buf.set(head, 0);
      pos = headLength;
    }
    let d = 0;
    for (let i = 0; i < this.n; i++) {
      const st = status[i]!;
      buf[pos++] = 0x0a; // items = 1, length-delimited
      switch (shape[i]) {
        case WITH_VALUE: {
          const len = lengths[i]!;
          if (len === 0) {
            pos = writeVarint(buf, pos, statusSize(st));
            pos = writeStatus(buf, pos, st);
            break;
          }
          pos = writeVarint(buf, pos, statusSize(st) + lenFieldSize(len));
          pos = writeStatus(buf, pos, st);
          const v = values[i];
          if (v !== undefined) {
            pos = writeBytesField(buf, pos, 2, v);
            break;
          }
          if (source === undefined) throw new Error(`GetManyResponseEncoder.finish: item ${i} was sized with found(length) and needs a ValueSource`);
          buf[pos++] = 0x12; // value = 2, length-delimited
          pos = writeVarint(buf, pos, len);
          const wrote = source(i, buf, pos, len);
          if (wrote !== len) {
            throw new WireError(MessageType.GetManyResponse, pos, `value source wrote ${wrote} bytes for item ${i}, ${len} were sized`);
          }
          pos += len;
          break;
        }
        case WITH_DETAIL: {
          const e = details[d++]!;
          pos = writeVarint(buf, pos, lengths[i]!);
          pos = writeStatus(buf, pos, st);
          if (e.code !== 0) {
            buf[pos++] = 0x18; // code = 3, varint
            pos = writeInt32(buf, pos, e.code);
          }
          if (e.kindBytes > 0) pos = writeStringField(buf, pos, 4, e.kind, e.kindBytes);
          if (e.messageBytes > 0) pos = writeStringField(buf, pos, 5, e.message, e.messageBytes);
          break;
        }
        default:
          pos = writeVarint(buf, pos, statusSize(st));
          pos = writeStatus(buf, pos, st);
      }
    }
    if (pos !== headLength + this.size) throw new Error(`GetManyResponseEncoder: wrote ${pos - headLength} bytes, sized ${this.size}`);
    return buf;
  }

  private withValue(length: number, value: Uint8Array | undefined): boolean {
    const size = itemSize(statusSize(ItemStatus.FOUND) + (length > 0 ? lenFieldSize(length) : 0));
    if (this.size + size > this.maxBytes) {
      this.tooLarge();
      return false;
    }
    const i = this.slot(WITH_VALUE, ItemStatus.FOUND);
    this.lengths[i] = length;
    this.values[i] = value;
    this.size += size;
    return true;
  }

  private statusOnly(st: number): void {
    this.slot(STATUS_ONLY, st);
    this.size += itemSize(statusSize(st));
  }

  /** Reserve the next item's index (growing the typed arrays when full) and record its shape. */
  private slot(shape: number, status: number): number {
    const i = this.n;
    if (i === this.shape.length) {
      this.shape = grow(this.shape, new Uint8Array(i * 2));
      this.status = grow(this.status, new Int32Array(i * 2));
      this.lengths = grow(this.lengths, new Int32Array(i * 2));
    }
    this.shape[i] = shape;
    this.status[i] = status;
    this.values[i] = undefined;
    this.n = i + 1;
    return i;
  }
}

function grow<T extends Uint8Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** A GetManyItem given as an object (tests, the convenience encoder). */
export interface GetManyItemIn {
  status: number;
  value?: Uint8Array;
  code?: number;
  kind?: string;
  message?: string;
}

/**
 * Encodes items given as objects, with `tail`'s fields (GetStream's batch/slots/more, Handoff's
 * holds_nothing) if given. The serving path uses GetManyResponseWriter.
 */
export function encodeGetManyResponse(items: ReadonlyArray<GetManyItemIn>, options?: GetManyResponseEncoderOptions, tail?: ResponseTail): Buffer {
  const enc = new GetManyResponseEncoder({ capacity: items.length, ...options });
  for (const it of items) {
    if (it.status === ItemStatus.FOUND) enc.foundValue(it.value ?? EMPTY);
    else if (it.status === ItemStatus.NOT_FOUND) enc.notFound();
    else if (it.status === ItemStatus.TOO_LARGE) enc.tooLarge();
    else enc.detailed(it.status, it.code ?? 0, it.kind ?? '', it.message ?? '');
  }
  if (tail === undefined) return enc.finish();
  const head = new Uint8Array(tailSize(tail));
  writeTail(head, 0, tail);
  return enc.finish(undefined, head);
}

const EMPTY = new Uint8Array(0);
