/**
 * SnapshotReader: reads a snapshot stream (snapshot-format.ts) chunk by chunk, however it is cut,
 * checking its structure as it goes and its record count and checksum at the trailer. Each
 * complete record goes to the sink as a position in a buffer (no object per record); a record
 * cut by a chunk boundary is put together once all its bytes are there (the parts are kept in a
 * list, not re-concatenated per chunk, so a huge record costs one copy).
 *
 * A sink sees the records before the damage of a damaged stream: to change nothing on damage,
 * read the whole stream once without a sink first (checkSnapshot), as `load` does.
 */
import { Checksum } from './checksum.js';
import {
  END_MAGIC, END_MARK, HEADER_BYTES, MAX_RECORD_KEY, RecordField, SnapshotError, TRAILER_BYTES, TrailerField, readHeader,
  snapshotRecordSize, type SnapshotInfo,
} from './snapshot-format.js';

export interface RecordSink {
  /** One complete record, at `buf[at, at + size)` (`dv` views `buf`); valid until `release`. */
  record(buf: Uint8Array, dv: DataView, at: number, klen: number, vlen: number, ttl: number, size: number): void;
  /** The views given so far end here (the reader moves on to another buffer). */
  release(): void;
  /** The header, before any record. */
  header?(info: SnapshotInfo): void;
}

export interface ReaderOptions {
  /** Whether to verify the checksum (off for a second pass over bytes a first pass checked). */
  checksum?: boolean;
}

export class SnapshotReader {
  private info: SnapshotInfo | undefined;
  private readonly sum: Checksum | undefined;
  private records = 0;
  private bytes = 0;
  /** Bytes of the stream consumed (complete header, records, trailer): error messages give offsets. */
  private consumed = 0;
  private finished = false;
  /** The unconsumed bytes, in pieces, and how many bytes the next step needs. */
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  private need = HEADER_BYTES;

  constructor(private readonly sink: RecordSink | undefined, options: ReaderOptions = {}) {
    this.sum = options.checksum === false ? undefined : new Checksum();
  }

  push(chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) throw new TypeError(`snapshot chunks must be Uint8Arrays, got ${chunk === null ? 'null' : typeof chunk}`);
    if (this.finished) {
      if (chunk.length > 0) throw new SnapshotError(`snapshot: ${chunk.length} bytes after the end (offset ${this.consumed})`);
      return;
    }
    if (chunk.length === 0) return;
    if (this.partBytes + chunk.length < this.need) {
      this.parts.push(chunk);
      this.partBytes += chunk.length;
      return;
    }
    let buf = chunk;
    if (this.partBytes > 0) {
      buf = new Uint8Array(this.partBytes + chunk.length);
      let at = 0;
      for (const p of this.parts) {
        buf.set(p, at);
        at += p.length;
      }
      buf.set(chunk, at);
    }
    this.parts = [];
    this.partBytes = 0;
    this.consume(buf);
  }

  /** The end of the stream: throws unless it ended exactly after a valid trailer. */
  end(): SnapshotInfo {
    if (this.finished) return this.info!;
    const left = this.partBytes;
    if (this.info === undefined) {
      throw new SnapshotError(`snapshot: truncated (${left} bytes; the header alone is ${HEADER_BYTES})`);
    }
    throw new SnapshotError(
      `snapshot: truncated after ${this.records} records (offset ${this.consumed}: ${left} more bytes, ` +
        `${left === 0 ? 'no trailer' : `the next ${this.need < TRAILER_BYTES ? 'part' : 'record or the trailer'} needs ${this.need}`})`,
    );
  }

  private consume(buf: Uint8Array): void {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let p = 0;
    if (this.info === undefined) {
      this.info = readHeader(buf, dv, 0);
      this.sum?.add(buf.subarray(0, HEADER_BYTES));
      this.sink?.header?.(this.info);
      p = HEADER_BYTES;
      this.consumed = HEADER_BYTES;
    }
    const spanStart = p;
    const sink = this.sink;
    let need = 8;
    try {
      for (;;) {
        const left = buf.length - p;
        if (left < 8) {
          need = 8;
          break;
        }
        const klen = dv.getUint32(p + RecordField.KLEN, true);
        if (klen === END_MARK) {
          if (left < TRAILER_BYTES) {
            need = TRAILER_BYTES;
            break;
          }
          this.sum?.add(buf.subarray(spanStart, p));
          this.trailer(dv, p);
          if (left > TRAILER_BYTES) throw new SnapshotError(`snapshot: ${left - TRAILER_BYTES} bytes after the end (offset ${this.consumed + TRAILER_BYTES})`);
          this.consumed += TRAILER_BYTES;
          this.finished = true;
          return;
        }
        if (klen > MAX_RECORD_KEY) throw this.corrupt(`a key of ${klen} bytes`);
        const vlen = dv.getUint32(p + RecordField.VLEN, true);
        const size = snapshotRecordSize(klen, vlen);
        if (left < size) {
          need = size;
          break;
        }
        const ttl = dv.getFloat64(p + RecordField.TTL, true);
        if (!(ttl >= 0 && ttl < Infinity)) throw this.corrupt(`a TTL of ${ttl}`);
        if (dv.getUint32(p + RecordField.RESERVED0, true) !== 0 || dv.getUint32(p + RecordField.RESERVED1, true) !== 0) {
          throw this.corrupt('reserved words not zero');
        }
        sink?.record(buf, dv, p, klen, vlen, ttl, size);
        this.records++;
        this.bytes += size;
        this.consumed += size;
        p += size;
      }
      this.sum?.add(buf.subarray(spanStart, p));
    } finally {
      sink?.release();
    }
    this.need = need;
    if (p < buf.length) {
      this.parts = [p === 0 ? buf : buf.subarray(p)];
      this.partBytes = buf.length - p;
    } else {
      this.parts = [];
      this.partBytes = 0;
    }
  }

  private trailer(dv: DataView, at: number): void {
    const count = dv.getUint32(at + TrailerField.RECORDS_LO, true) + dv.getUint32(at + TrailerField.RECORDS_HI, true) * 0x1_0000_0000;
    if (dv.getUint32(at + TrailerField.RESERVED, true) !== 0 || dv.getUint32(at + TrailerField.END, true) !== END_MAGIC) {
      throw new SnapshotError(`snapshot: corrupt trailer (offset ${this.consumed})`);
    }
    if (count !== this.records) throw new SnapshotError(`snapshot: the trailer counts ${count} records; the stream holds ${this.records}`);
    if (this.sum !== undefined && dv.getUint32(at + TrailerField.CHECKSUM, true) !== this.sum.value) {
      throw new SnapshotError('snapshot: checksum mismatch (the stream was altered or damaged)');
    }
    this.info!.entries = this.records;
    this.info!.bytes = this.bytes;
  }

  private corrupt(what: string): SnapshotError {
    return new SnapshotError(`snapshot: corrupt record ${this.records} at offset ${this.consumed} (${what})`);
  }
}

/** Checks a whole snapshot (structure, count, checksum) without loading it. */
export async function checkSnapshot(source: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<SnapshotInfo> {
  if (source instanceof Uint8Array) return checkSnapshotBytes(source);
  const reader = new SnapshotReader(undefined);
  for await (const chunk of source as AsyncIterable<Uint8Array>) reader.push(chunk);
  return reader.end();
}

export function checkSnapshotBytes(bytes: Uint8Array): SnapshotInfo {
  const reader = new SnapshotReader(undefined);
  reader.push(bytes);
  return reader.end();
}
