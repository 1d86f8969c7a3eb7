/**
 * Dumping: a cache's entries as a snapshot (snapshot-format.ts), as a stream of chunks or as one
 * buffer. The records a scan call leaves in the I/O area already have the snapshot's record
 * layout: each record's expiry is rewritten in place as the time it has left, the span is added
 * to the checksum and copied once (into a chunk, or straight into the one buffer), so dumping runs
 * at about the speed of copying the entries out of the arena.
 */
import { Scan, entryHeaderOf, type PolicyName } from './abi.js';
import type { ArenaClock } from './clock.js';
import { Checksum } from './checksum.js';
import type { IoArea } from './io-area.js';
import type { Scanner } from './scanner.js';
import {
  HEADER_BYTES, RecordField, TRAILER_BYTES, snapshotRecordSize, writeHeader, writeTrailer,
} from './snapshot-format.js';

/** What a dump needs of its cache. */
export interface DumpSource {
  readonly scanner: Scanner;
  readonly io: IoArea;
  readonly clock: ArenaClock;
  readonly policy: PolicyName;
  readonly segments: number;
  readonly maxBytes: number;
  /** Live entries and their bytes now (the header's estimates). */
  readonly size: number;
  readonly bytes: number;
}

/**
 * The snapshot's parts in order: the header, then the records of each scan call as a view of the
 * I/O area (valid until the next part is asked for: copy it first), then the trailer.
 */
function* parts(source: DumpSource): Generator<Uint8Array> {
  const createdAt = source.clock.read();
  const sum = new Checksum();
  const header = writeHeader({
    createdAt, policy: source.policy, segments: source.segments, maxBytes: source.maxBytes, entries: source.size, bytes: source.bytes,
  });
  sum.add(header);
  yield header;
  const io = source.io;
  let records = 0;
  // s3fifo: main's entries, then the small queue's (scanner.ts says why).
  for (const { from, to, count } of source.scanner.spans(Scan.VALUES, source.policy === 's3fifo')) {
    // A scan record is a set_many record with the expiry where the TTL goes: rewritten in place
    // (the I/O area is this thread's). The scan skips entries expired at its call, which is after
    // createdAt, so what is left is > 0.
    for (let p = from, i = 0; i < count; i++) {
      const expires = io.getF64(p + RecordField.TTL);
      if (expires !== 0) io.setF64(p + RecordField.TTL, Math.max(expires - createdAt, Number.MIN_VALUE));
      p += snapshotRecordSize(io.getU32(p + RecordField.KLEN), io.getU32(p + RecordField.VLEN));
    }
    const view = io.u8.subarray(from, to);
    sum.add(view);
    records += count;
    yield view;
  }
  yield writeTrailer(records, sum.value);
}

/** Bytes a chunk of dumpChunks holds at least (but the last): a write per chunk costs more than a copy. */
export const DUMP_CHUNK_BYTES = 1 << 20;

/**
 * The snapshot as chunks of at least DUMP_CHUNK_BYTES (but the last): the records of scan calls
 * copied straight from the I/O area into the chunk being filled, each chunk a buffer of its own.
 */
export function* dumpChunks(source: DumpSource): Generator<Uint8Array> {
  let chunk = new Uint8Array(DUMP_CHUNK_BYTES);
  let at = 0;
  for (const part of parts(source)) {
    if (at > 0 && at + part.length > chunk.length) {
      yield chunk.subarray(0, at);
      chunk = new Uint8Array(Math.max(DUMP_CHUNK_BYTES, part.length));
      at = 0;
    }
    if (part.length > chunk.length) chunk = new Uint8Array(part.length);
    chunk.set(part, at);
    at += part.length;
  }
  if (at > 0) yield chunk.subarray(0, at);
}

/**
 * The snapshot as one buffer. It is allocated once, at a bound on the snapshot's size (a record is
 * at most its entry's cost - entry header + 31 bytes), and grown only if another thread adds
 * entries meanwhile; records go straight from the I/O area into it. The result is a view of
 * exactly the snapshot's bytes.
 */
export function dump(source: DumpSource): Uint8Array {
  const perEntry = Math.max(0, 31 - entryHeaderOf(source.policy));
  let out = new Uint8Array(HEADER_BYTES + TRAILER_BYTES + source.bytes + source.size * perEntry);
  let at = 0;
  for (const part of parts(source)) {
    if (at + part.length > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, at + part.length));
      grown.set(out.subarray(0, at));
      out = grown;
    }
    out.set(part, at);
    at += part.length;
  }
  return at === out.length ? out : out.subarray(0, at);
}
