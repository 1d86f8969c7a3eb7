// A plain-TypeScript reference model of the core (ABI 2): segments chosen by the seeded FNV-1a,
// and per segment exactly the victims each policy picks (lru, clock, s3fifo), with the rings'
// byte geometry (which decides when room runs out), the sweep cursor, counters and the records
// the eviction log receives. The differential tests run it beside the core.
import * as abi from '../../../src/core/abi.generated.js';
import { RingModel, type Block } from './ring.js';
import { indexHash, mix32, segmentHash } from './siphash.js';

export interface ArenaShape {
  policy: number;
  segments: number;
  entryHeader: number;
  /** Storage bytes per segment (both rings). */
  region: number;
  /** s3fifo's small ring, bytes (0 otherwise). */
  small: number;
  /** Entries per segment. */
  segEntries: number;
  ghostSlots: number;
  maxKey: number;
  maxValue: number;
  seed: readonly number[];
  epoch: number;
  defaultTtl: number;
  /** Which removals reach the log: 0 none, 1 keys, 2 keys and values; and deletes/replaces. */
  logMode: number;
  logRemovals: boolean;
}

export interface Counters {
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
  evictions: number;
  expirations: number;
  rejected: number;
  moves: number;
  ghostHits: number;
  sweepPasses: number;
}

/** A log record as the host reads it: [reason, key hex, value hex ('' in keys-only mode)]. */
export type LogRecord = [number, string, string];

/** Thrown by the model where the core finds its eviction log full (it writes a record first). */
export class LogFull extends Error {}

interface Entry {
  key: Uint8Array;
  hex: string;
  value: Uint8Array;
  exp: number;
  freq: number;
  block: Block;
  ring: RingModel;
  hash: bigint;
}

const MAX_EXPIRY = 2 ** 40 - 1;
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const align4 = (n: number) => (n + 3) & ~3;

class SegmentModel {
  readonly main: RingModel;
  readonly small: RingModel | null;
  readonly entries = new Map<string, Entry>();
  /** lru order: the first entry is the least recently used. */
  readonly lru = new Map<string, Entry>();
  readonly ghost: Uint16Array | null;
  cursor: { ring: RingModel; pos: number } | null = null;
  readonly c: Counters = { hits: 0, misses: 0, sets: 0, deletes: 0, evictions: 0, expirations: 0, rejected: 0, moves: 0, ghostHits: 0, sweepPasses: 0 };

  constructor(readonly a: ArenaModel) {
    const s = a.shape;
    if (s.policy === abi.POLICY_S3FIFO) {
      const capSmall = Math.ceil((s.segEntries * abi.S3_SMALL_PERCENT) / 100);
      this.small = new RingModel(s.small, s.entryHeader, capSmall);
      this.main = new RingModel(s.region - s.small, s.entryHeader, Math.max(1, s.segEntries - capSmall));
      this.ghost = new Uint16Array(s.ghostSlots);
    } else {
      this.small = null;
      this.main = new RingModel(s.region, s.entryHeader, s.segEntries);
      this.ghost = null;
    }
  }

  get policy(): number {
    return this.a.shape.policy;
  }

  maxCost(): number {
    const hdr = this.a.shape.entryHeader;
    return this.policy === abi.POLICY_LRU ? this.lruBudget() : this.main.len - 2 * hdr;
  }

  lruBudget(): number {
    const len = this.main.len;
    return (len - (len >> abi.LRU_SLACK_SHIFT)) & ~3;
  }

  /** Entry lookup by block (the tail). */
  entryAt(b: Block): Entry {
    return this.entries.get(b.key)!;
  }

  // ---- structure changes, mirroring assembly/segment.ts ----

  retire(e: Entry): void {
    this.lru.delete(e.hex);
    this.entries.delete(e.hex);
    e.block.dead = true;
    e.ring.live -= e.block.size;
    e.ring.count--;
  }

  evict(e: Entry, rel: number): void {
    const expired = this.a.expired(e, rel);
    this.a.log(expired ? abi.REASON_EXPIRE : abi.REASON_EVICT, e);
    this.retire(e);
    if (expired) this.c.expirations++;
    else this.c.evictions++;
  }

  dropTail(r: RingModel): void {
    const b = r.blocks[0];
    r.dropTail();
    if (this.cursor && this.cursor.ring === r && this.cursor.pos === b.pos) this.cursor.pos = r.tail;
  }

  relocate(r: RingModel): boolean {
    const b = r.blocks[0];
    const from = b.pos;
    if (!r.relocateTail()) return false;
    if (this.cursor && this.cursor.ring === r && this.cursor.pos === from) this.cursor.pos = r.tail;
    this.c.moves++;
    return true;
  }

  moveTailAcross(from: RingModel, to: RingModel): void {
    const b = from.blocks[0];
    const e = this.entryAt(b);
    const nb = to.append(e.hex, b.size);
    this.dropTail(from);
    from.live -= b.size;
    from.count--;
    to.live += b.size;
    to.count++;
    e.block = nb;
    e.ring = to;
    e.freq = 0;
    this.c.moves++;
  }

  hit(e: Entry): void {
    if (this.policy === abi.POLICY_LRU) {
      this.lru.delete(e.hex);
      this.lru.set(e.hex, e);
    } else {
      e.freq = this.hitBits(e.freq);
    }
  }

  hitBits(f: number): number {
    if (this.policy === abi.POLICY_LRU) return 0;
    const max = this.policy === abi.POLICY_S3FIFO ? abi.S3_MAX_FREQ : abi.CLOCK_MAX_FREQ;
    return f < max ? f + 1 : f;
  }

  /** The ghost spans as many slots as main holds entries (at least one, at most all). */
  ghostPos(h: bigint): number {
    const span = Math.max(1, Math.min(this.main.count, this.ghost!.length));
    return Number(((h >> 32n) * BigInt(span)) >> 32n);
  }

  fingerprint(h: bigint): number {
    return (Number((h >> 16n) & 0xffffn) | 1) & 0xffff;
  }

  // ---- making room ----

  makeRoom(r: RingModel, size: number, isNew: boolean, keep: Entry | undefined, rel: number): void {
    if (this.policy === abi.POLICY_LRU) return this.lruMakeRoom(size, isNew, keep, rel);
    if (this.policy === abi.POLICY_S3FIFO && r === this.small) return this.makeRoomSmall(size, isNew, keep, rel);
    return this.makeRoomFifo(r, size, isNew, keep, rel);
  }

  lruMakeRoom(size: number, isNew: boolean, keep: Entry | undefined, rel: number): void {
    const r = this.main;
    const keepSize = keep ? keep.block.size : 0;
    const budget = this.lruBudget();
    while (r.live - keepSize + size > budget || (isNew && r.count >= r.cap)) {
      let victim: Entry | undefined;
      for (const e of this.lru.values()) {
        if (e !== keep) {
          victim = e;
          break;
        }
      }
      this.evict(victim!, rel);
    }
    if (keep) this.retire(keep);
    while (!r.fits(size)) this.lruCleanOne(rel);
  }

  lruCleanOne(rel: number): void {
    const r = this.main;
    const b = r.blocks[0];
    if (b.dead) return this.dropTail(r);
    if (this.relocate(r)) return;
    this.evict(this.entryAt(b), rel);
    this.dropTail(r);
  }

  lruPace(size: number): void {
    const r = this.main;
    const target = r.len >> 4;
    let credit = size << 3;
    while (credit > 0 && r.len - r.span - r.hdr < target && r.span !== 0) {
      const b = r.blocks[0];
      credit -= b.size;
      if (b.dead) this.dropTail(r);
      else if (!this.relocate(r)) return;
    }
  }

  /** clock, and s3fifo's main queue. */
  makeRoomFifo(r: RingModel, size: number, isNew: boolean, keep: Entry | undefined, rel: number): void {
    let chances = this.policy === abi.POLICY_S3FIFO ? abi.S3_CHANCES : abi.CLOCK_CHANCES;
    while (!r.fits(size) || (isNew && r.count >= r.cap)) {
      const b = r.blocks[0];
      if (b.dead) {
        this.dropTail(r);
        continue;
      }
      const e = this.entryAt(b);
      if (e === keep) {
        this.retire(e);
        this.dropTail(r);
        continue;
      }
      if (chances > 0 && e.freq > 0 && !this.a.expired(e, rel) && this.relocate(r)) {
        e.freq--;
        chances--;
        continue;
      }
      this.evict(e, rel);
      this.dropTail(r);
    }
  }

  makeRoomSmall(size: number, isNew: boolean, keep: Entry | undefined, rel: number): void {
    const r = this.small!;
    while (!r.fits(size) || (isNew && r.count >= r.cap)) {
      const b = r.blocks[0];
      if (b.dead) {
        this.dropTail(r);
        continue;
      }
      const e = this.entryAt(b);
      if (e === keep) {
        this.retire(e);
        this.dropTail(r);
        continue;
      }
      if (e.freq >= abi.S3_MOVE_FREQ && !this.a.expired(e, rel)) {
        this.makeRoomFifo(this.main, b.size, true, undefined, rel);
        this.moveTailAcross(r, this.main);
        continue;
      }
      this.evict(e, rel);
      this.dropTail(r);
      this.ghost![this.ghostPos(e.hash)] = this.fingerprint(e.hash);
    }
  }

  targetRing(h: bigint, size: number, old: Entry | undefined): RingModel {
    const small = this.small!;
    const fitsSmall = size <= small.len - 2 * this.a.shape.entryHeader;
    if (old) return old.ring === small && !fitsSmall ? this.main : old.ring;
    if (!fitsSmall) return this.main;
    if (this.ghost![this.ghostPos(h)] === this.fingerprint(h)) {
      this.c.ghostHits++;
      return this.main;
    }
    if (this.main.fits(size) && this.main.count < this.main.cap) return this.main;
    return small;
  }

  // ---- operations ----

  set(key: Uint8Array, value: Uint8Array, x: number, rel: number): number {
    const hdr = this.a.shape.entryHeader;
    const size = align4(hdr + key.length + value.length);
    if (size > this.maxCost() || value.length > this.a.shape.maxValue) {
      this.c.rejected++;
      return abi.E_TOO_LARGE;
    }
    try {
      return this.setInner(key, value, x, rel, size);
    } catch (err) {
      if (err instanceof LogFull) return abi.E_LOG_FULL;
      throw err;
    }
  }

  private setInner(key: Uint8Array, value: Uint8Array, x: number, rel: number, size: number): number {
    const hex = hexOf(key);
    const h = indexHash(key, this.a.shape.seed);
    const old = this.entries.get(hex);
    if (old) {
      this.a.log(abi.REASON_REPLACE, old);
      if (old.block.size === size) {
        old.value = value;
        old.exp = x;
        this.hit(old);
        this.c.sets++;
        return abi.OK;
      }
    }
    const r = this.policy === abi.POLICY_S3FIFO ? this.targetRing(h, size, old) : this.main;
    this.makeRoom(r, size, !old || old.ring !== r, old, rel);
    let freq = 0;
    const still = old && this.entries.get(hex) === old ? old : undefined;
    if (still) {
      freq = this.hitBits(still.freq);
      this.retire(still);
    } else if (this.policy === abi.POLICY_S3FIFO && r === this.main) {
      const g = this.ghostPos(h);
      if (this.ghost![g] === this.fingerprint(h)) this.ghost![g] = 0;
    }
    const block = r.append(hex, size);
    const e: Entry = { key, hex, value, exp: x, freq, block, ring: r, hash: h };
    this.entries.set(hex, e);
    this.lru.set(hex, e);
    r.live += size;
    r.count++;
    if (this.policy === abi.POLICY_LRU) this.lruPace(size);
    this.c.sets++;
    return abi.OK;
  }

  lookupLive(key: Uint8Array, rel: number): Entry | undefined {
    const e = this.entries.get(hexOf(key));
    if (!e) return undefined;
    if (this.a.expired(e, rel)) {
      try {
        this.evict(e, rel);
      } catch (err) {
        if (!(err instanceof LogFull)) throw err;
        // The log is full: the core leaves the expired entry in place, reported absent.
      }
      return undefined;
    }
    return e;
  }

  remove(key: Uint8Array, rel: number): number {
    const e = this.lookupLive(key, rel);
    if (!e) return 0;
    try {
      this.a.log(abi.REASON_DELETE, e);
    } catch (err) {
      if (err instanceof LogFull) return abi.E_LOG_FULL;
      throw err;
    }
    this.retire(e);
    this.c.deletes++;
    return 1;
  }

  sweep(maxSteps: number, rel: number, restart: boolean): [removed: number, examined: number, passDone: number] {
    const first = this.small ?? this.main;
    let r = first;
    let pos = r.tail;
    if (this.cursor && !restart) {
      r = this.cursor.ring;
      pos = this.cursor.pos;
    }
    let removed = 0;
    let examined = 0;
    let passDone = 0;
    let atZero = false;
    while (examined < maxSteps) {
      if (pos === r.head) {
        if (r !== this.main) {
          r = this.main;
          pos = r.tail;
          continue;
        }
        passDone = 1;
        this.c.sweepPasses++;
        atZero = true;
        break;
      }
      const b = r.blocks.find((x) => x.pos === pos)!;
      const next = r.next(b.pos, b.size);
      if (!b.dead) {
        const e = this.entryAt(b);
        if (this.a.expired(e, rel)) {
          try {
            this.a.log(abi.REASON_EXPIRE, e);
          } catch (err) {
            if (!(err instanceof LogFull)) throw err;
            break; // the core stops here, keeping its place
          }
          this.retire(e);
          this.c.expirations++;
          removed++;
        }
      }
      pos = next;
      examined++;
    }
    this.cursor = atZero ? null : { ring: r, pos };
    return [removed, examined, passDone];
  }

  clear(): void {
    this.main.reset();
    this.small?.reset();
    this.entries.clear();
    this.lru.clear();
    this.ghost?.fill(0);
    this.cursor = null;
  }

  get count(): number {
    return this.main.count + (this.small?.count ?? 0);
  }

  get used(): number {
    return this.main.live + (this.small?.live ?? 0);
  }

  get span(): number {
    return this.main.span + (this.small?.span ?? 0);
  }
}

/** The whole arena: operations take the host's `now` and return what the ABI returns. */
export class ArenaModel {
  readonly segs: SegmentModel[];
  readonly records: LogRecord[] = [];
  /**
   * Bytes of records the current core call may still log (LOG_BYTES - 8 at the start of each
   * call, as the host drains after every call), or null for a log that never fills.
   */
  logRoom: number | null = null;
  private readonly bits: number;

  constructor(readonly shape: ArenaShape) {
    this.segs = Array.from({ length: shape.segments }, () => new SegmentModel(this));
    this.bits = Math.log2(shape.segments);
  }

  segmentOf(key: Uint8Array): SegmentModel {
    const h = mix32(segmentHash(key, this.shape.seed[0]));
    return this.segs[this.bits === 0 ? 0 : h >>> (32 - this.bits)];
  }

  rel(now: number): number {
    return now - this.shape.epoch;
  }

  expiryFor(ttl: number, now: number): number {
    const t = ttl < 0 ? this.shape.defaultTtl : ttl;
    if (t <= 0) return 0;
    let x = Math.ceil(this.rel(now) + t);
    if (!(x >= 1)) x = 1;
    return Math.min(x, MAX_EXPIRY);
  }

  expired(e: Entry, rel: number): boolean {
    return e.exp !== 0 && e.exp <= rel;
  }

  log(reason: number, e: Entry): void {
    const s = this.shape;
    if (s.logMode === 0) return;
    if ((reason === abi.REASON_DELETE || reason === abi.REASON_REPLACE) && !s.logRemovals) return;
    const value = s.logMode === abi.LOG_KEYS_AND_VALUES ? e.value : new Uint8Array(0);
    if (this.logRoom !== null) {
      const size = (abi.REC_HEADER + e.key.length + value.length + 3) & ~3;
      if (size > this.logRoom) throw new LogFull();
      this.logRoom -= size;
    }
    this.records.push([reason, e.hex, hexOf(value)]);
  }

  set(key: Uint8Array, value: Uint8Array, ttl: number, now: number): number {
    if (key.length > this.shape.maxKey) return abi.E_KEY_TOO_LONG;
    return this.segmentOf(key).set(key, value, this.expiryFor(ttl, now), this.rel(now));
  }

  get(key: Uint8Array, now: number): Uint8Array | null {
    const seg = this.segmentOf(key);
    const e = seg.lookupLive(key, this.rel(now));
    if (!e) {
      seg.c.misses++;
      return null;
    }
    seg.hit(e);
    seg.c.hits++;
    return e.value;
  }

  peek(key: Uint8Array, now: number): Uint8Array | null {
    return this.segmentOf(key).lookupLive(key, this.rel(now))?.value ?? null;
  }

  has(key: Uint8Array, now: number): number {
    return this.segmentOf(key).lookupLive(key, this.rel(now)) ? 1 : 0;
  }

  remove(key: Uint8Array, now: number): number {
    return this.segmentOf(key).remove(key, this.rel(now));
  }

  sweep(seg: number, maxSteps: number, now: number, restart: boolean): [number, number, number] {
    return this.segs[seg].sweep(maxSteps, this.rel(now), restart);
  }

  clear(): void {
    for (const s of this.segs) s.clear();
  }

  /**
   * A segment's live, unexpired entries in the order scan returns them from SCAN_START:
   * [key hex, value hex, expires]. `oneQueue` (SCAN_ONE_QUEUE): s3fifo's small queue alone.
   */
  scanOrder(seg: number, newestFirst: boolean, values: boolean, now: number, oneQueue = false): [string, string, number][] {
    const s = this.segs[seg];
    let keys: string[];
    if (this.shape.policy === abi.POLICY_LRU) keys = [...s.lru.keys()];
    else keys = (s.small ? (oneQueue ? [s.small] : [s.small, s.main]) : [s.main]).flatMap((r) => r.blocks.filter((b) => !b.dead).map((b) => b.key));
    if (newestFirst) keys.reverse();
    const rel = this.rel(now);
    return keys
      .map((k) => s.entries.get(k)!)
      .filter((e) => !this.expired(e, rel))
      .map((e) => [e.hex, values ? hexOf(e.value) : '', e.exp === 0 ? 0 : this.shape.epoch + e.exp]);
  }

  info(key: Uint8Array, now: number): [number, number, number] | null {
    const e = this.segmentOf(key).lookupLive(key, this.rel(now));
    return e ? [e.value.length, e.block.size, e.exp === 0 ? 0 : this.shape.epoch + e.exp] : null;
  }

  get count(): number {
    return this.segs.reduce((n, s) => n + s.count, 0);
  }

  get used(): number {
    return this.segs.reduce((n, s) => n + s.used, 0);
  }

  stats(seg: number): Counters & { entries: number; bytesUsed: number; logBytes: number; smallEntries: number; smallBytes: number } {
    const s = this.segs[seg];
    return {
      ...s.c,
      entries: s.count,
      bytesUsed: s.used,
      logBytes: s.span,
      smallEntries: s.small?.count ?? 0,
      smallBytes: s.small?.live ?? 0,
    };
  }
}
