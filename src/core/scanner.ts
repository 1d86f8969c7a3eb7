/**
 * Scanner: iteration over the cache through the core's `scan` (docs/ABI.md section 8). Each core
 * call holds one segment's lock for at most SCAN_CHUNK entries; between calls the segment's
 * cursor is kept aside and written back, so the caller may use the cache in between (its calls
 * overwrite the I/O area). Nothing is promoted or counted; expired entries are skipped.
 *
 * Order. Within a segment, the order its policy would evict (lru: least recently used first, or
 * most recently used first on request; clock: oldest first; s3fifo: the small queue, then main).
 * The segments are interleaved by quantile: the walk goes round the segments SCAN_ROUNDS times,
 * and in round r takes from each segment its entries up to the (r + 1)/SCAN_ROUNDS-th of those it
 * held when the walk began; so every segment starts and ends together, the first entries yielded
 * are the first (most recent, or first to evict) of every segment, and the last are the last of
 * every segment. Keys hash evenly over the segments, so that is the cache's global order to within
 * about 1/SCAN_ROUNDS of its entries (exact with one segment), and a snapshot replayed in this
 * order rebuilds it in any other cache (another size, segment count or seed). Entries added
 * during the walk come in further rounds of ceil(entries / SCAN_ROUNDS) per segment.
 *
 *   round →    0                 1                  …  255
 *   seg s    [0, ⌊c/256⌋)    [⌊c/256⌋, ⌊2c/256⌋)    …  [⌊255c/256⌋, c)      c: its entries at the start
 *
 * Changes during the walk. Every entry present for the whole walk is yielded, and with `dedupe`
 * exactly once: the core resumes robustly (docs/ABI.md section 8: a moved lru cursor falls back to
 * its second anchor) and entries it returns again after they moved are dropped here (an entry
 * never changes segment, so a set of the keys yielded per segment suffices, freed when the segment
 * is done). The exception: lru's most-recent-first order misses entries read or written during
 * the walk (they move behind it). Entries added or removed during the walk may or may not be
 * yielded.
 */
import { Scan, Stats, STATUS_NAMES, scanRecordsAt } from './abi.js';
import type { Arena } from './arena.js';
import type { ArenaClock } from './clock.js';
import type { IoArea } from './io-area.js';
import { KeySet } from './key-set.js';

/** Entries a scan call returns at most: a segment's lock is held for this many. */
export const SCAN_CHUNK = 128;
/** Rounds over the segments: the interleaving's granularity (see the top of the file). */
export const SCAN_ROUNDS = 256;

/** Some records of one segment, as docs/ABI.md section 8 lays them out (a copy: the caller may keep it or rewrite it). */
export interface ScanChunk {
  bytes: Uint8Array;
  count: number;
  segment: number;
  /** Whether these are the segment's last records. */
  last: boolean;
}

/** Where one scan call's records lie in the I/O area (memory offsets, [from, to)). */
export interface ScanSpan {
  from: number;
  to: number;
  count: number;
  segment: number;
  last: boolean;
}

/** One entry as the scanner yields it: one object, reused for every entry of a walk. */
export interface ScannedEntry {
  key: Uint8Array;
  /** Undefined when values were not asked for. */
  value: Uint8Array | undefined;
  /** When it expires on the cache's clock, 0 = never. */
  expires: number;
}

const NOT_STARTED = 0;
const MORE = 1;
const DONE = 2;

/** The parts of a segment's walk: the core's own order from SCAN_START, or main, small, main again. */
const enum Part {
  CORE,
  MAIN,
  SMALL,
  MAIN_AGAIN,
}
const CORE_ORDER: readonly Part[] = [Part.CORE];
const MAIN_FIRST: readonly Part[] = [Part.MAIN, Part.SMALL, Part.MAIN_AGAIN];

export class Scanner {
  private readonly recordsAt: number;

  constructor(
    private readonly arena: Arena,
    private readonly io: IoArea,
    private readonly clock: ArenaClock,
    private readonly segments: number,
    maxKeyBytes: number,
  ) {
    this.recordsAt = scanRecordsAt(maxKeyBytes);
  }

  /** Record chunks of every segment, interleaved by quantile (`flags`: Scan.VALUES, Scan.NEWEST_FIRST). */
  *chunks(flags: number): Generator<ScanChunk> {
    const io = this.io;
    for (const span of this.spans(flags)) {
      io.check(span.from, span.to - span.from);
      yield { bytes: io.u8.slice(span.from, span.to), count: span.count, segment: span.segment, last: span.last };
    }
  }

  /**
   * The same walk without copies: each span says where one scan call's records lie in the I/O
   * area. Read (or copy) them before asking for the next span and without calling the cache in
   * between: the next call overwrites them. One object, reused.
   *
   * `mainFirst` (s3fifo, for snapshots): each segment's main queue, then its small queue, then
   * what moved to main meanwhile, so that a cache replaying the records fills main with main's
   * entries and the small queue with the small queue's (replayed in the core's order, the small
   * queue's entries would take main's room and main's newest would land in the small queue).
   * Every entry present throughout is still yielded: one moved from small to main after the walk
   * of main is in the last part.
   */
  *spans(flags: number, mainFirst = false): Generator<ScanSpan> {
    const { io, segments } = this;
    const { ex, slot } = this.arena;
    const at = io.start;
    const cursorBytes = this.recordsAt;
    const parts = mainFirst ? MAIN_FIRST : CORE_ORDER;
    const state = new Uint8Array(segments);
    const part = new Uint8Array(segments);
    const count = new Float64Array(segments);
    const emitted = new Float64Array(segments);
    const cursors: (Uint8Array | undefined)[] = new Array(segments);
    /** mainFirst: where each segment's walk of main ended (its cursor, SCAN_DONE). */
    const mainEnds: (Uint8Array | undefined)[] = new Array(segments);
    const span: ScanSpan = { from: 0, to: 0, count: 0, segment: 0, last: false };
    for (let s = 0; s < segments; s++) {
      const r = ex.stats(slot, s);
      if (r !== Stats.SIZE) throw new Error(`arenacache: stats failed (${STATUS_NAMES[r] ?? r})`);
      count[s] = io.getU32(at + Stats.ENTRIES);
    }
    let active = segments;
    for (let round = 0; active > 0; round++) {
      for (let s = 0; s < segments; s++) {
        if (state[s] === DONE) continue;
        const target = round < SCAN_ROUNDS
          ? Math.floor(((round + 1) * count[s]) / SCAN_ROUNDS)
          : emitted[s] + Math.max(1, Math.ceil(count[s] / SCAN_ROUNDS));
        for (let left = target - emitted[s]; left > 0;) {
          const kind = parts[part[s]];
          if (state[s] !== NOT_STARTED) {
            if (!io.bytes(at, cursors[s]!)) throw new Error('arenacache: the scan cursor does not fit the I/O area');
          } else if (kind === Part.MAIN) {
            // docs/ABI.md section 8: queue 0 (main) at position 0 starts at its oldest entry.
            io.setU32(at + Scan.STATE, Scan.MORE);
            io.setU32(at + Scan.RING, 0);
            io.setU32(at + Scan.LSN, 0);
            io.setU32(at + Scan.LSN + 4, 0);
          } else if (kind === Part.MAIN_AGAIN) {
            if (!io.bytes(at, mainEnds[s]!)) throw new Error('arenacache: the scan cursor does not fit the I/O area');
            io.setU32(at + Scan.STATE, Scan.MORE);
            mainEnds[s] = undefined;
          } else {
            io.setU32(at + Scan.STATE, Scan.START);
          }
          const oneQueue = kind === Part.MAIN || kind === Part.SMALL ? Scan.ONE_QUEUE : 0;
          const n = ex.scan(slot, s, Math.min(SCAN_CHUNK, left), flags | oneQueue, this.clock.now());
          if (n < 0) throw new Error(`arenacache: scan failed (${STATUS_NAMES[n] ?? n})`);
          const done = io.getU32(at + Scan.STATE) === Scan.DONE;
          if (n === 0 && !done) throw new Error('arenacache: scan made no progress');
          const end = n > 0 ? this.recordsEnd(n) : 0;
          const last = done && part[s] === parts.length - 1;
          if (done) {
            if (kind === Part.MAIN) mainEnds[s] = io.u8.slice(at, at + cursorBytes);
            cursors[s] = undefined;
            if (last) {
              state[s] = DONE;
              active--;
            } else {
              state[s] = NOT_STARTED;
              part[s]++;
            }
          } else {
            // The caller may use the cache before this segment's next call: keep its cursor aside.
            state[s] = MORE;
            (cursors[s] ??= new Uint8Array(cursorBytes)).set(io.u8.subarray(at, at + cursorBytes));
          }
          left -= n;
          emitted[s] += n;
          if (n > 0) {
            span.from = at + this.recordsAt;
            span.to = end;
            span.count = n;
            span.segment = s;
            span.last = last;
            yield span;
          }
          if (last) break;
        }
      }
    }
  }

  /**
   * Every live entry, as one reused object (read it before asking for the next). With `dedupe`,
   * each key at most once (see the top of the file).
   */
  *entries(flags: number, dedupe: boolean): Generator<ScannedEntry> {
    const seen: (KeySet | undefined)[] = new Array(this.segments);
    const values = (flags & Scan.VALUES) !== 0;
    const entry: ScannedEntry = { key: EMPTY, value: undefined, expires: 0 };
    for (const { bytes, count, segment, last } of this.chunks(flags)) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const set = dedupe ? (seen[segment] ??= new KeySet()) : undefined;
      let p = 0;
      for (let i = 0; i < count; i++) {
        const klen = dv.getUint32(p, true);
        const vlen = dv.getUint32(p + 4, true);
        const k = p + Scan.RECORD_HEADER;
        const expires = dv.getFloat64(p + 8, true);
        p += recordSize(klen, vlen);
        if (set !== undefined && !set.add(bytes, k, klen)) continue;
        entry.key = bytes.subarray(k, k + klen);
        entry.value = values ? bytes.subarray(k + klen, k + klen + vlen) : undefined;
        entry.expires = expires;
        yield entry;
      }
      if (last) seen[segment] = undefined;
    }
  }

  /** Where the `n` records the last scan wrote end in the I/O area (checked to lie inside it). */
  private recordsEnd(n: number): number {
    const io = this.io;
    const from = io.start + this.recordsAt;
    let p = from;
    for (let i = 0; i < n; i++) {
      io.check(p, Scan.RECORD_HEADER);
      p += recordSize(io.getU32(p), io.getU32(p + 4));
    }
    io.check(from, p - from);
    return p;
  }
}

const EMPTY = new Uint8Array(0);

/** A scan record's size: header, key, value, padded to 8. */
export function recordSize(klen: number, vlen: number): number {
  return (Scan.RECORD_HEADER + klen + vlen + 7) & ~7;
}
