/**
 * Snapshots: a cache's entries as one portable byte stream, and back.
 *
 *   header  (32 B)  "ARENASNP" · u32 format (1) · u32 flags (0) · f64 createdAt (the dumping cache's
 *                   clock, ms) · u32 policy · u32 0
 *   records         each exactly a set_many record (docs/ABI.md): [u32 klen][u32 vlen][f64 ttl]
 *                   [u32 0][u32 0][key][value], padded to 8; ttl = ms left at createdAt, 0 = never.
 *                   Least recently used (first to evict) first, segment after segment, so
 *                   replaying them in order rebuilds each segment's order.
 *   trailer (24 B)  u32 0xffffffff · u32 0 · u64 records · u32 checksum (of header and records) ·
 *                   "SEND"
 *
 * Dumping copies whole chunks of scan records (they already have this layout) and only rewrites
 * each one's expiry as a TTL, so it runs near memory speed; restoring copies records straight into
 * the I/O area for set_many. The checksum is a two-lane multiply-xorshift over 32-bit words: it
 * catches a truncated or altered stream, not an attacker. Loading subtracts the time elapsed since
 * createdAt (on the loading cache's clock) from each TTL and skips what expired meanwhile, and
 * skips entries the loading cache cannot hold (key or value over its limits); entries beyond its
 * capacity are evicted as they are replayed, oldest first.
 */
import { BatchRecordField, POLICIES, Scan, STATUS_NAMES, Status, batchRecordSize, entryCost, type PolicyName } from './abi.js';
import type { Arena } from './arena.js';
import type { ArenaClock } from './clock.js';
import type { EvictLog } from './evict-log.js';
import type { IoArea } from './io-area.js';
import type { Scanner } from './scanner.js';

const MAGIC = [0x41, 0x52, 0x45, 0x4e, 0x41, 0x53, 0x4e, 0x50]; // "ARENASNP"
const END_MAGIC = 0x444e4553; // "SEND" little-endian
export const SNAPSHOT_FORMAT = 1;
const HEADER_BYTES = 32;
const TRAILER_BYTES = 24;
const END_MARK = 0xffff_ffff;

/** What a snapshot holds, as checkSnapshot finds it. */
export interface SnapshotInfo {
  format: number;
  /** The dumping cache's clock when the dump began (ms). */
  createdAt: number;
  entries: number;
  bytes: number;
  policy: PolicyName | undefined;
}

/** What a load did. */
export interface LoadResult {
  /** Entries stored. */
  loaded: number;
  /** Entries that expired since the dump. */
  expired: number;
  /** Entries this cache cannot hold (key or value over its limits). */
  skipped: number;
}

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

/** The running checksum: two lanes over alternate 32-bit words (independent multiplies run in parallel). */
class Checksum {
  private a = 0x9e3779b1;
  private b = 0x85ebca77;
  /** Which lane the next word goes to. */
  private lane = 0;

  /** Adds `bytes` (a multiple of 4 long). */
  add(bytes: Uint8Array): void {
    const n = bytes.length >>> 2;
    if (n === 0) return;
    const words = (bytes.byteOffset & 3) === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, n) : new Uint32Array(bytes.slice(0, n * 4).buffer);
    let { a, b } = this;
    let i = 0;
    if (this.lane === 1 && n > 0) b = mix(b, words[i++]);
    for (; i + 1 < n; i += 2) {
      a = mix(a, words[i]);
      b = mix(b, words[i + 1]);
    }
    if (i < n) {
      a = mix(a, words[i]);
      this.lane = 1;
    } else {
      this.lane = 0;
    }
    this.a = a;
    this.b = b;
  }

  get value(): number {
    return (mix(this.a, this.b) ^ (this.b >>> 7)) >>> 0;
  }
}

function mix(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x9e3779b1);
  return h ^ (h >>> 15);
}

/** Writes snapshots of one cache. */
export function* dumpChunks(scanner: Scanner, clock: ArenaClock, policy: PolicyName): Generator<Uint8Array> {
  const createdAt = clock.read();
  const sum = new Checksum();
  const header = new Uint8Array(HEADER_BYTES);
  const hv = new DataView(header.buffer);
  header.set(MAGIC, 0);
  hv.setUint32(8, SNAPSHOT_FORMAT, true);
  hv.setUint32(12, 0, true);
  hv.setFloat64(16, createdAt, true);
  hv.setUint32(24, POLICIES[policy], true);
  sum.add(header);
  yield header;
  let records = 0;
  for (const { chunk } of scanner.chunks(Scan.VALUES)) {
    const dv = new DataView(chunk.bytes.buffer, chunk.bytes.byteOffset, chunk.bytes.byteLength);
    let p = 0;
    for (let i = 0; i < chunk.count; i++) {
      const klen = dv.getUint32(p, true);
      const vlen = dv.getUint32(p + 4, true);
      const expires = dv.getFloat64(p + 8, true);
      // A scan record is a set_many record with the expiry where the TTL goes.
      dv.setFloat64(p + 8, expires === 0 ? 0 : Math.max(expires - createdAt, Number.MIN_VALUE), true);
      p += batchRecordSize(klen, vlen);
    }
    records += chunk.count;
    sum.add(chunk.bytes);
    yield chunk.bytes;
  }
  const trailer = new Uint8Array(TRAILER_BYTES);
  const tv = new DataView(trailer.buffer);
  tv.setUint32(0, END_MARK, true);
  tv.setUint32(4, 0, true);
  tv.setUint32(8, records >>> 0, true);
  tv.setUint32(12, Math.floor(records / 0x1_0000_0000), true);
  tv.setUint32(16, sum.value, true);
  tv.setUint32(20, END_MAGIC, true);
  yield trailer;
}

/**
 * Reads a snapshot stream record by record, checking its structure as it goes. `onRecord` gets
 * each record's bytes (a view valid during the call); nothing is called for a stream that turns
 * out malformed before that record. The whole stream is checked: a bad checksum, count or end is
 * reported after the last record.
 */
class Reader {
  private pending: Uint8Array = new Uint8Array(0);
  private offset = 0;
  private header: SnapshotInfo | undefined;
  private readonly sum = new Checksum();
  private records = 0;
  private finished = false;

  constructor(private readonly onRecord: ((record: Uint8Array, info: SnapshotInfo) => void) | undefined) {}

  push(chunk: Uint8Array): void {
    if (this.finished) {
      if (chunk.length > 0) throw new SnapshotError('snapshot: bytes after the end');
      return;
    }
    if (!(chunk instanceof Uint8Array)) throw new TypeError('snapshot chunks must be Uint8Arrays');
    this.pending = this.pending.length - this.offset === 0 ? chunk : concat(this.pending.subarray(this.offset), chunk);
    this.offset = 0;
    this.consume();
  }

  end(): SnapshotInfo {
    if (!this.finished) {
      if (this.header === undefined) throw new SnapshotError('snapshot: truncated (no header)');
      throw new SnapshotError(`snapshot: truncated after ${this.records} records (no trailer)`);
    }
    return this.header!;
  }

  private consume(): void {
    const buf = this.pending;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (this.header === undefined) {
      if (buf.length < HEADER_BYTES) return;
      for (let i = 0; i < MAGIC.length; i++) if (buf[i] !== MAGIC[i]) throw new SnapshotError('snapshot: not an arenacache snapshot (bad magic)');
      const format = dv.getUint32(8, true);
      if (format !== SNAPSHOT_FORMAT) throw new SnapshotError(`snapshot: format ${format}; this version reads format ${SNAPSHOT_FORMAT}`);
      const createdAt = dv.getFloat64(16, true);
      if (!Number.isFinite(createdAt)) throw new SnapshotError('snapshot: corrupt header (creation time)');
      const policy = Object.entries(POLICIES).find(([, v]) => v === dv.getUint32(24, true))?.[0] as PolicyName | undefined;
      this.header = { format, createdAt, entries: 0, bytes: 0, policy };
      this.sum.add(buf.subarray(0, HEADER_BYTES));
      this.offset = HEADER_BYTES;
    }
    for (;;) {
      const left = buf.length - this.offset;
      if (left < 8) break;
      const at = this.offset;
      const klen = dv.getUint32(at, true);
      if (klen === END_MARK) {
        if (left < TRAILER_BYTES) break;
        this.trailer(dv, at);
        this.offset += TRAILER_BYTES;
        if (buf.length > this.offset) throw new SnapshotError('snapshot: bytes after the end');
        this.finished = true;
        return;
      }
      const vlen = dv.getUint32(at + 4, true);
      if (klen > 0xffff) throw new SnapshotError(`snapshot: corrupt record ${this.records} (key of ${klen} bytes)`);
      const size = batchRecordSize(klen, vlen);
      if (left < size) break;
      const ttl = dv.getFloat64(at + 8, true);
      if (!(ttl >= 0) || dv.getUint32(at + 16, true) !== 0 || dv.getUint32(at + 20, true) !== 0) {
        throw new SnapshotError(`snapshot: corrupt record ${this.records}`);
      }
      const record = buf.subarray(at, at + size);
      this.sum.add(record);
      this.records++;
      this.header!.entries = this.records;
      this.header!.bytes += size;
      this.onRecord?.(record, this.header!);
      this.offset += size;
    }
    // Keep only what is not consumed (a partial record), so memory stays one chunk.
    if (this.offset > 0) {
      this.pending = this.pending.slice(this.offset);
      this.offset = 0;
    }
  }

  private trailer(dv: DataView, at: number): void {
    const count = dv.getUint32(at + 8, true) + dv.getUint32(at + 12, true) * 0x1_0000_0000;
    if (dv.getUint32(at + 4, true) !== 0 || dv.getUint32(at + 20, true) !== END_MAGIC) throw new SnapshotError('snapshot: corrupt trailer');
    if (count !== this.records) throw new SnapshotError(`snapshot: the trailer counts ${count} records, the stream holds ${this.records}`);
    if (dv.getUint32(at + 16, true) !== this.sum.value) throw new SnapshotError('snapshot: checksum mismatch (the stream was altered or damaged)');
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Checks a whole snapshot (structure, count, checksum) without loading it. */
export async function checkSnapshot(source: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<SnapshotInfo> {
  const reader = new Reader(undefined);
  if (source instanceof Uint8Array) reader.push(source);
  else for await (const chunk of source as AsyncIterable<Uint8Array>) reader.push(chunk);
  return reader.end();
}

export function checkSnapshotSync(bytes: Uint8Array): SnapshotInfo {
  const reader = new Reader(undefined);
  reader.push(bytes);
  return reader.end();
}

/** What a Loader needs of its cache. */
export interface LoadTarget {
  readonly arena: Arena;
  readonly io: IoArea;
  readonly log: EvictLog | undefined;
  readonly clock: ArenaClock;
  readonly policy: PolicyName;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly entryLimit: number;
}

/** Replays snapshot records into a cache through set_many, an I/O area's worth at a time. */
export class Loader {
  private readonly reader: Reader;
  private at: number;
  private n = 0;
  private elapsed: number | undefined;
  readonly result: LoadResult = { loaded: 0, expired: 0, skipped: 0 };

  constructor(private readonly t: LoadTarget) {
    this.at = t.io.start;
    this.reader = new Reader((record, info) => this.record(record, info));
  }

  /**
   * Adds a chunk's records. They are applied before it returns, so no record waits in the I/O
   * area between two chunks: the caller may use the cache, or await (the sweeper's timer then
   * runs), before pushing the next one — either writes the I/O area.
   */
  push(chunk: Uint8Array): void {
    this.reader.push(chunk);
    this.flush();
  }

  end(): LoadResult {
    this.reader.end();
    this.flush();
    this.t.log?.deliver();
    return this.result;
  }

  private record(record: Uint8Array, info: SnapshotInfo): void {
    const t = this.t;
    const dv = new DataView(record.buffer, record.byteOffset, record.byteLength);
    const klen = dv.getUint32(0, true);
    const vlen = dv.getUint32(4, true);
    let ttl = dv.getFloat64(8, true);
    if (klen > t.maxKeyBytes || vlen > t.maxValueBytes || entryCost(t.policy, klen, vlen) > t.entryLimit) {
      this.result.skipped++;
      return;
    }
    if (ttl > 0) {
      this.elapsed ??= Math.max(0, t.clock.read() - info.createdAt);
      ttl -= this.elapsed;
      if (ttl <= 0) {
        this.result.expired++;
        return;
      }
    }
    if (this.at + record.length > t.io.end) this.flush();
    if (!t.io.bytes(this.at, record)) throw new Error('arenacache: a snapshot record does not fit the I/O area');
    t.io.setF64(this.at + BatchRecordField.TTL, ttl);
    this.at += record.length;
    this.n++;
  }

  /** Applies the records laid out in the I/O area. */
  private flush(): void {
    const { arena, io, log, clock } = this.t;
    const n = this.n;
    if (n === 0) return;
    const now = clock.read();
    let s = 0;
    while (s < n) {
      const r = arena.ex.set_many(arena.slot, n, s, now);
      if (!(r >= s && r <= n)) throw new Error(`arenacache: set_many returned ${STATUS_NAMES[r] ?? r}`);
      const drained = log !== undefined && log.filled;
      if (drained) log.drain();
      else if (r < n) throw new Error('arenacache: set_many made no progress with an empty eviction log');
      s = r;
    }
    let p = io.start;
    for (let j = 0; j < n; j++) {
      const status = io.getI32(p + BatchRecordField.STATUS);
      if (status !== Status.OK) throw new Error(`arenacache: a snapshot record was refused (${STATUS_NAMES[status] ?? status})`);
      p += batchRecordSize(io.getU32(p + BatchRecordField.KLEN), io.getU32(p + BatchRecordField.VLEN));
    }
    this.result.loaded += n;
    this.n = 0;
    this.at = io.start;
  }
}
