/**
 * Restoring: replaying a snapshot's records into a cache through set_many. Records are copied
 * straight from the snapshot into the I/O area (consecutive accepted records in one copy), an I/O
 * area's worth at a time, then applied in order, so the cache's order follows the snapshot's:
 * first to evict first.
 *
 * A snapshot larger than this cache: its earliest records are left out (`overflow`), as many as
 * its header says exceed the cache's capacity (entries and bytes, as this cache's policy charges
 * them), rather than stored to be evicted by the later ones. Under lru the two keep the same
 * entries; under clock and s3fifo, storing them would keep the wrong ones (FIFO queues fill with
 * the earliest arrivals, and the later ones are evicted from the small queue). The header's counts
 * are taken when the dump began, so a segment the estimate overfills evicts as usual.
 *
 * TTLs count down the time since the dump (on this cache's clock; a clock behind the dump's counts
 * nothing): a record whose time is up is not stored. Records this cache cannot hold (key or value
 * over its limits, or an entry over one segment's limit) are skipped.
 */
import { BatchRecordField, STATUS_NAMES, Status, entryCost, entryHeaderOf, type PolicyName } from './abi.js';
import type { Arena } from './arena.js';
import type { ArenaClock } from './clock.js';
import type { EvictLog } from './evict-log.js';
import type { IoArea } from './io-area.js';
import { snapshotRecordSize, type SnapshotInfo } from './snapshot-format.js';
import type { RecordSink } from './snapshot-reader.js';

/** What a load did. */
export interface SnapshotLoadResult {
  /** Entries stored (some may have been evicted again by later ones, beyond this cache's capacity). */
  loaded: number;
  /** Entries whose time ran out since the dump. */
  expired: number;
  /** Entries this cache cannot hold (key or value over its limits). */
  skipped: number;
  /** The earliest entries of a snapshot larger than this cache, left out. */
  overflow: number;
}

/** What a Restorer needs of its cache. */
export interface RestoreTarget {
  readonly arena: Arena;
  readonly io: IoArea;
  readonly log: EvictLog | undefined;
  readonly clock: ArenaClock;
  readonly policy: PolicyName;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly entryLimit: number;
  /** What the whole cache holds at most: bytes of entries (as its policy charges them) and entries. */
  readonly capacity: { bytes: number; entries: number };
}

export class Restorer implements RecordSink {
  readonly result: SnapshotLoadResult = { loaded: 0, expired: 0, skipped: 0, overflow: 0 };
  private createdAt = 0;
  /** How much of the snapshot is still beyond the capacity (the header's estimate, counted down). */
  private excessBytes = 0;
  private excessEntries = 0;
  private headerDelta = 0;
  /** ms since the dump, measured when the batch in the I/O area began (-1: no batch yet). */
  private elapsed = -1;
  /** Where the next record goes in the I/O area, and how many are there. */
  private dst: number;
  private staged = 0;
  /** A run of consecutive accepted records not yet copied: buf[from, to), `count` records. */
  private runBuf: Uint8Array | undefined;
  private runFrom = 0;
  private runTo = 0;
  private runCount = 0;

  constructor(private readonly t: RestoreTarget) {
    this.dst = t.io.start;
  }

  header(info: SnapshotInfo): void {
    const t = this.t;
    this.createdAt = info.createdAt;
    // The snapshot's bytes as this cache charges them: entry headers differ between policies.
    this.headerDelta = entryHeaderOf(t.policy) - entryHeaderOf(info.policy);
    this.excessBytes = info.bytes + info.entries * this.headerDelta - t.capacity.bytes;
    this.excessEntries = info.entries - t.capacity.entries;
  }

  record(buf: Uint8Array, _dv: DataView, at: number, klen: number, vlen: number, ttl: number, size: number): void {
    const t = this.t;
    const cost = entryCost(t.policy, klen, vlen);
    if (klen > t.maxKeyBytes || vlen > t.maxValueBytes || cost > t.entryLimit) {
      this.cut();
      this.result.skipped++;
      return;
    }
    if (this.excessBytes > 0 || this.excessEntries > 0) {
      this.excessBytes -= cost;
      this.excessEntries--;
      this.cut();
      this.result.overflow++;
      return;
    }
    if (this.runBuf !== buf || at !== this.runTo) this.cut();
    if (this.dst + (this.runTo - this.runFrom) + size > t.io.end) this.flush();
    // Measured once per batch: the records of a batch are checked and counted down alike.
    if (this.elapsed < 0) this.elapsed = Math.max(0, t.clock.read() - this.createdAt);
    if (ttl > 0 && ttl <= this.elapsed) {
      this.cut();
      this.result.expired++;
      return;
    }
    if (this.runBuf === undefined) {
      this.runBuf = buf;
      this.runFrom = at;
      this.runTo = at;
    }
    this.runTo += size;
    this.runCount++;
  }

  release(): void {
    this.cut();
  }

  /**
   * Applies every record received so far. A streamed load calls it after each chunk, before it
   * awaits the next: meanwhile the cache may be used (by the caller or the sweeper's timer), and
   * every call of this thread writes the I/O area where records are staged.
   */
  settle(): void {
    this.flush();
  }

  /** Applies what is staged; the result. */
  end(): SnapshotLoadResult {
    this.flush();
    this.t.log?.deliver();
    return this.result;
  }

  /** Copies the current run into the I/O area, its TTLs counted down. */
  private cut(): void {
    const buf = this.runBuf;
    if (buf === undefined) return;
    const { io } = this.t;
    const from = this.dst;
    if (!io.bytes(from, buf.subarray(this.runFrom, this.runTo))) throw new Error('arenacache: a snapshot record does not fit the I/O area');
    this.dst += this.runTo - this.runFrom;
    this.staged += this.runCount;
    if (this.elapsed > 0) {
      for (let p = from; p < this.dst; p += snapshotRecordSize(io.getU32(p + BatchRecordField.KLEN), io.getU32(p + BatchRecordField.VLEN))) {
        const ttl = io.getF64(p + BatchRecordField.TTL);
        if (ttl > 0) io.setF64(p + BatchRecordField.TTL, ttl - this.elapsed);
      }
    }
    this.runBuf = undefined;
    this.runCount = 0;
  }

  /** Applies the records staged in the I/O area. */
  private flush(): void {
    this.cut();
    const { arena, io, log, clock } = this.t;
    const n = this.staged;
    if (n > 0) {
      const now = clock.read();
      for (let s = 0; s < n;) {
        const r = arena.ex.set_many(arena.slot, n, s, now);
        if (!(r >= s && r <= n)) throw new Error(`arenacache: set_many returned ${STATUS_NAMES[r] ?? r}`);
        if (log !== undefined && log.filled) log.drain();
        else if (r < n) throw new Error('arenacache: set_many made no progress with an empty eviction log');
        s = r;
      }
      for (let j = 0, p = io.start; j < n; j++) {
        const status = io.getI32(p + BatchRecordField.STATUS);
        if (status !== Status.OK) throw new Error(`arenacache: a snapshot record was refused (${STATUS_NAMES[status] ?? status})`);
        p += snapshotRecordSize(io.getU32(p + BatchRecordField.KLEN), io.getU32(p + BatchRecordField.VLEN));
      }
      this.result.loaded += n;
    }
    this.staged = 0;
    this.dst = io.start;
    this.elapsed = -1;
  }
}
