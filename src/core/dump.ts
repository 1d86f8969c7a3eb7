/**
 * Dumping: a cache's entries as a snapshot (snapshot-format.ts), as a stream of chunks or as one
 * buffer. The scanner's record chunks already have the snapshot's record layout: each record's
 * expiry is rewritten in place as the time it has left, the chunk is added to the checksum and
 * handed on, so dumping runs at about the speed of copying the entries out of the arena.
 */
import { Scan, entryHeaderOf, type PolicyName } from './abi.js';
import type { ArenaClock } from './clock.js';
import { Checksum } from './checksum.js';
import type { Scanner } from './scanner.js';
import {
  HEADER_BYTES, RecordField, TRAILER_BYTES, snapshotRecordSize, writeHeader, writeTrailer,
} from './snapshot-format.js';

/** What a dump needs of its cache. */
export interface DumpSource {
  readonly scanner: Scanner;
  readonly clock: ArenaClock;
  readonly policy: PolicyName;
  readonly segments: number;
  readonly maxBytes: number;
  /** Live entries and their bytes now (the header's estimates). */
  readonly size: number;
  readonly bytes: number;
}

/** The snapshot as chunks: the header, one chunk per scan call, the trailer. */
export function* dumpChunks(source: DumpSource): Generator<Uint8Array> {
  const createdAt = source.clock.read();
  const sum = new Checksum();
  const header = writeHeader({
    createdAt, policy: source.policy, segments: source.segments, maxBytes: source.maxBytes, entries: source.size, bytes: source.bytes,
  });
  sum.add(header);
  yield header;
  let records = 0;
  for (const { bytes, count } of source.scanner.chunks(Scan.VALUES)) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let p = 0;
    for (let i = 0; i < count; i++) {
      const klen = dv.getUint32(p + RecordField.KLEN, true);
      const vlen = dv.getUint32(p + RecordField.VLEN, true);
      const expires = dv.getFloat64(p + RecordField.TTL, true);
      // A scan record is a set_many record with the expiry where the TTL goes. The scan skips
      // entries expired at its call, which is after createdAt: what is left is > 0.
      if (expires !== 0) dv.setFloat64(p + RecordField.TTL, Math.max(expires - createdAt, Number.MIN_VALUE), true);
      p += snapshotRecordSize(klen, vlen);
    }
    records += count;
    sum.add(bytes);
    yield bytes;
  }
  yield writeTrailer(records, sum.value);
}

/**
 * The snapshot as one buffer. It is allocated once, at a bound on the snapshot's size (a record is
 * at most its entry's cost - entry header + 31 bytes), and grown only if another thread adds
 * entries meanwhile; the result is a view of exactly the snapshot's bytes.
 */
export function dump(source: DumpSource): Uint8Array {
  const perEntry = Math.max(0, 31 - entryHeaderOf(source.policy));
  let out = new Uint8Array(HEADER_BYTES + TRAILER_BYTES + source.bytes + source.size * perEntry);
  let at = 0;
  for (const chunk of dumpChunks(source)) {
    if (at + chunk.length > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, at + chunk.length));
      grown.set(out.subarray(0, at));
      out = grown;
    }
    out.set(chunk, at);
    at += chunk.length;
  }
  return at === out.length ? out : out.subarray(0, at);
}
