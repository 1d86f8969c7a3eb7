/**
 * Scanner: iteration over the cache through the core's `scan` (docs/ABI.md section 8). Each call
 * holds one segment's lock for a bounded chunk of entries; between chunks the cursor is saved and
 * written back, so the caller's loop body may use the cache (its calls overwrite the I/O area).
 *
 * Order: segment after segment; within a segment, the order its policy would evict (lru: least
 * recently used first, or most recently used first on request; clock: oldest first; s3fifo: the
 * small queue, then main). Nothing is promoted or counted; expired entries are skipped.
 *
 * Changes during iteration: every entry present for the whole iteration is yielded exactly once
 * (the core resumes robustly, and entries it returns again after they moved are dropped here; an
 * entry never changes segment, so one segment's keys are remembered at a time), except that lru's
 * most-recent-first order misses entries read or written meanwhile (they move behind it).
 * Entries added or removed during the iteration may or may not be seen.
 */
import { Header, Scan, STATUS_NAMES, scanRecordsAt } from './abi.js';
import type { Arena } from './arena.js';
import type { ArenaClock } from './clock.js';
import type { IoArea } from './io-area.js';

/** Entries a scan call returns at most: the lock is held for this many. */
const CHUNK = 128;

/** One entry as the scanner yields it; `value` is undefined when values were not asked for. */
export interface ScannedEntry {
  key: Uint8Array;
  value: Uint8Array | undefined;
  /** When it expires on the cache's clock, 0 = never. */
  expires: number;
}

/** One scan call's records: a copy of the bytes, and where each record starts in them. */
export interface ScanChunk {
  bytes: Uint8Array;
  count: number;
}

export class Scanner {
  private readonly recordsAt: number;

  constructor(
    private readonly arena: Arena,
    private readonly io: IoArea,
    private readonly clock: ArenaClock,
    maxKeyBytes: number,
  ) {
    this.recordsAt = scanRecordsAt(maxKeyBytes);
  }

  /** Raw record chunks of every segment in turn (records as docs/ABI.md section 8 lays them out). */
  *chunks(flags: number): Generator<{ segment: number; chunk: ScanChunk }> {
    const segments = this.arena.field(Header.SEGMENTS);
    const io = this.io;
    const cursorBytes = this.recordsAt;
    const cursor = new Uint8Array(cursorBytes);
    for (let seg = 0; seg < segments; seg++) {
      io.setU32(io.start + Scan.STATE, Scan.START);
      for (;;) {
        const n = this.arena.ex.scan(this.arena.slot, seg, CHUNK, flags, this.clock.now());
        if (n < 0) throw new Error(`arenacache: scan failed (${STATUS_NAMES[n] ?? n})`);
        const state = io.getU32(io.start + Scan.STATE);
        if (n > 0) {
          const bytes = this.copyRecords(n);
          // The caller may use the cache before asking for more: keep the cursor aside.
          cursor.set(io.u8.subarray(io.start, io.start + cursorBytes));
          yield { segment: seg, chunk: { bytes, count: n } };
          if (state === Scan.DONE) break;
          if (!io.bytes(io.start, cursor)) throw new Error('arenacache: the scan cursor does not fit the I/O area');
        } else if (state === Scan.DONE) {
          break;
        }
      }
    }
  }

  /** Every live entry, deduplicated per segment. */
  *entries(flags: number): Generator<ScannedEntry> {
    let seen = new Set<string>();
    let current = -1;
    for (const { segment, chunk } of this.chunks(flags)) {
      if (segment !== current) {
        seen = new Set();
        current = segment;
      }
      const dv = new DataView(chunk.bytes.buffer, chunk.bytes.byteOffset, chunk.bytes.byteLength);
      let p = 0;
      for (let i = 0; i < chunk.count; i++) {
        const klen = dv.getUint32(p, true);
        const vlen = dv.getUint32(p + 4, true);
        const expires = dv.getFloat64(p + 8, true);
        const k = p + Scan.RECORD_HEADER;
        const key = chunk.bytes.subarray(k, k + klen);
        p += (Scan.RECORD_HEADER + klen + vlen + 7) & ~7;
        const id = latin1(key);
        if (seen.has(id)) continue;
        seen.add(id);
        yield { key, value: (flags & Scan.VALUES) !== 0 ? chunk.bytes.subarray(k + klen, k + klen + vlen) : undefined, expires };
      }
    }
  }

  /** A copy of the `n` records the last scan wrote (one allocation per chunk, not per entry). */
  private copyRecords(n: number): Uint8Array {
    const io = this.io;
    let p = io.start + this.recordsAt;
    for (let i = 0; i < n; i++) {
      const klen = io.getU32(p);
      const vlen = io.getU32(p + 4);
      p += (Scan.RECORD_HEADER + klen + vlen + 7) & ~7;
    }
    const from = io.start + this.recordsAt;
    io.check(from, p - from);
    return io.u8.slice(from, p);
  }
}

/** A key's bytes as a string usable as a Set member (one char per byte). */
function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}
