/**
 * The snapshot format ("ARENASNP", format 1): a cache's entries as one portable byte stream.
 * docs/snapshots.md is the specification; this file is its one source in code.
 *
 *   header   64 B   0 "ARENASNP" · 8 u32 format (1) · 12 u32 flags (0) · 16 f64 createdAt (the
 *                   dumping cache's clock, ms) · 24 u32 policy · 28 u32 segments · 32 f64 maxBytes ·
 *                   40 f64 entries · 48 f64 bytes (both when the dump began: estimates) ·
 *                   56 u32 core ABI version · 60 u32 0
 *   records         each exactly a set_many record (docs/ABI.md): [u32 klen][u32 vlen][f64 ttl]
 *                   [u32 0][u32 0][key][value], padded to 8; ttl = ms left at createdAt, 0 = never.
 *                   In the order the scanner walks (scanner.ts): first to evict first, segments
 *                   interleaved by quantile, so that replaying them in order rebuilds the order.
 *   trailer  24 B   0 u32 0xffffffff · 4 u32 0 · 8 u64 records · 16 u32 checksum (checksum.ts, of
 *                   the header and the records) · 20 "SEND"
 *
 * All numbers little-endian. A reader refuses anything else with a SnapshotError.
 */
import { ABI_VERSION, BATCH_RECORD_HEADER, POLICIES, type PolicyName } from './abi.js';

export const SNAPSHOT_FORMAT = 1;
export const SNAPSHOT_MAGIC: readonly number[] = [0x41, 0x52, 0x45, 0x4e, 0x41, 0x53, 0x4e, 0x50]; // "ARENASNP"
export const HEADER_BYTES = 64;
export const TRAILER_BYTES = 24;
/** A record's first word is its key length; this value there starts the trailer instead. */
export const END_MARK = 0xffff_ffff;
export const END_MAGIC = 0x444e4553; // "SEND" read as a little-endian u32
/** The longest key any arena takes (docs/ABI.md: maxKey ≤ 65535). */
export const MAX_RECORD_KEY = 0xffff;

export const HeaderField = {
  MAGIC: 0, FORMAT: 8, FLAGS: 12, CREATED_AT: 16, POLICY: 24, SEGMENTS: 28, MAX_BYTES: 32, ENTRIES: 40, BYTES: 48, ABI: 56, RESERVED: 60,
} as const;
export const RecordField = { KLEN: 0, VLEN: 4, TTL: 8, RESERVED0: 16, RESERVED1: 20 } as const;
export const TrailerField = { MARK: 0, RESERVED: 4, RECORDS_LO: 8, RECORDS_HI: 12, CHECKSUM: 16, END: 20 } as const;

/**
 * A record's size: its header, key and value, padded to 8 (a set_many record's size). In plain
 * arithmetic, not 32-bit: a damaged length near 2^32 must give a huge size (a truncated stream),
 * not a negative one.
 */
export const snapshotRecordSize = (klen: number, vlen: number): number => Math.ceil((BATCH_RECORD_HEADER + klen + vlen) / 8) * 8;

/** What a snapshot says about itself (checkSnapshot reads it all; a load reports it). */
export interface SnapshotInfo {
  format: number;
  /** The dumping cache's clock when the dump began (ms). */
  createdAt: number;
  /** The dumping cache's policy, segments and maxBytes. */
  policy: PolicyName;
  segments: number;
  maxBytes: number;
  /** The core ABI version of the dumping cache. */
  abi: number;
  /** Records in the snapshot (from the trailer once read; the header's estimate before). */
  entries: number;
  /** Bytes of records. */
  bytes: number;
}

/** A snapshot that cannot be read: truncated, altered, of another format, or not a snapshot at all. */
export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

/** What the header records of the dumping cache. */
export interface DumpOrigin {
  createdAt: number;
  policy: PolicyName;
  segments: number;
  maxBytes: number;
  entries: number;
  bytes: number;
}

export function writeHeader(o: DumpOrigin): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  const dv = new DataView(header.buffer);
  header.set(SNAPSHOT_MAGIC, HeaderField.MAGIC);
  dv.setUint32(HeaderField.FORMAT, SNAPSHOT_FORMAT, true);
  dv.setUint32(HeaderField.FLAGS, 0, true);
  dv.setFloat64(HeaderField.CREATED_AT, o.createdAt, true);
  dv.setUint32(HeaderField.POLICY, POLICIES[o.policy], true);
  dv.setUint32(HeaderField.SEGMENTS, o.segments, true);
  dv.setFloat64(HeaderField.MAX_BYTES, o.maxBytes, true);
  dv.setFloat64(HeaderField.ENTRIES, o.entries, true);
  dv.setFloat64(HeaderField.BYTES, o.bytes, true);
  dv.setUint32(HeaderField.ABI, ABI_VERSION, true);
  dv.setUint32(HeaderField.RESERVED, 0, true);
  return header;
}

/** Reads and checks a header at `at` (HEADER_BYTES available). */
export function readHeader(bytes: Uint8Array, dv: DataView, at: number): SnapshotInfo {
  for (let i = 0; i < SNAPSHOT_MAGIC.length; i++) {
    if (bytes[at + i] !== SNAPSHOT_MAGIC[i]) throw new SnapshotError('snapshot: not an arenacache snapshot (bad magic)');
  }
  const format = dv.getUint32(at + HeaderField.FORMAT, true);
  if (format !== SNAPSHOT_FORMAT) {
    throw new SnapshotError(`snapshot: format ${format}; this version of arenacache reads format ${SNAPSHOT_FORMAT}`);
  }
  const policyCode = dv.getUint32(at + HeaderField.POLICY, true);
  const policy = (Object.keys(POLICIES) as PolicyName[]).find((p) => POLICIES[p] === policyCode);
  const createdAt = dv.getFloat64(at + HeaderField.CREATED_AT, true);
  const segments = dv.getUint32(at + HeaderField.SEGMENTS, true);
  const maxBytes = dv.getFloat64(at + HeaderField.MAX_BYTES, true);
  const entries = dv.getFloat64(at + HeaderField.ENTRIES, true);
  const bytesEstimate = dv.getFloat64(at + HeaderField.BYTES, true);
  if (
    dv.getUint32(at + HeaderField.FLAGS, true) !== 0 || dv.getUint32(at + HeaderField.RESERVED, true) !== 0 || policy === undefined ||
    !Number.isFinite(createdAt) || !isCount(maxBytes) || !isCount(entries) || !isCount(bytesEstimate) ||
    segments === 0 || (segments & (segments - 1)) !== 0
  ) {
    throw new SnapshotError('snapshot: corrupt header');
  }
  return { format, createdAt, policy, segments, maxBytes, abi: dv.getUint32(at + HeaderField.ABI, true), entries, bytes: bytesEstimate };
}

export function writeTrailer(records: number, checksum: number): Uint8Array {
  const trailer = new Uint8Array(TRAILER_BYTES);
  const dv = new DataView(trailer.buffer);
  dv.setUint32(TrailerField.MARK, END_MARK, true);
  dv.setUint32(TrailerField.RESERVED, 0, true);
  dv.setUint32(TrailerField.RECORDS_LO, records >>> 0, true);
  dv.setUint32(TrailerField.RECORDS_HI, Math.floor(records / 0x1_0000_0000), true);
  dv.setUint32(TrailerField.CHECKSUM, checksum, true);
  dv.setUint32(TrailerField.END, END_MAGIC, true);
  return trailer;
}

function isCount(x: number): boolean {
  return Number.isInteger(x) && x >= 0;
}
