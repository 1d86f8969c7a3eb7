// A plain-TypeScript reference model of the cache's semantics: segments picked by FNV-1a, exact
// byte budgets with the core's entry cost, LRU per segment, lazy expiry, the TTL sweep cursor, the
// eviction log's capacity, and the host's delivery of eviction records (in removal order, once the
// call is done with the I/O area; records of calls made by a callback join the same queue). Used
// by the differential property test.
import { entrySize, logRecordSize } from '../../src/core/abi.js';
import type { SegmentStats } from '../../src/core/types.js';

export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h >>> 0;
}

interface Entry {
  key: Uint8Array;
  value: Uint8Array;
  expires: number;
}

/** The core's counters the model predicts exactly. */
export type ModelCounters = Pick<SegmentStats, 'hits' | 'misses' | 'sets' | 'deletes' | 'evictions' | 'expirations' | 'rejected'>;

export interface Removal {
  key: Uint8Array;
  value: Uint8Array;
  reason: 'evict' | 'expire';
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

class Segment {
  // Map iteration order is insertion order: the first entry is the least recently used (the tail).
  readonly entries = new Map<string, Entry>();
  used = 0;
  /** The TTL sweep cursor: the next entry a sweep examines, null = the tail. */
  cursor: string | null = null;

  /** The entry after `k` toward the most recent (the core's prevOf), or null. */
  after(k: string): string | null {
    let found = false;
    for (const key of this.entries.keys()) {
      if (found) return key;
      if (key === k) found = true;
    }
    return null;
  }

  /** Unlinks `k`, moving the cursor off it first (as removeEntry and promote do). */
  unlink(k: string): void {
    if (this.cursor === k) this.cursor = this.after(k);
    this.entries.delete(k);
  }
}

export interface ModelConfig {
  segments: number;
  budget: number;
  maxValue: number;
  defaultTtl: number;
  /** Bytes of records one core call can log (LOG_BYTES - 8), or null when nothing is logged. */
  logCapacity: number | null;
}

export class ModelCache {
  readonly segments: Segment[];
  readonly counters: ModelCounters = { hits: 0, misses: 0, sets: 0, deletes: 0, evictions: 0, expirations: 0, rejected: 0 };
  /** Every record delivered to onEvict, in order. */
  readonly delivered: Removal[] = [];
  /** Called for each record as it is delivered (the test's callback: may call the model again). */
  onRecord: ((r: Removal, index: number) => void) | undefined;
  private readonly queue: Removal[] = [];
  private delivering = false;
  private readonly bits: number;
  /** Each thread's cache sweeps the segments round-robin from its own position. */
  private readonly sweepNext = new Map<number, number>();

  constructor(readonly config: ModelConfig) {
    this.segments = Array.from({ length: config.segments }, () => new Segment());
    this.bits = Math.log2(config.segments);
  }

  private segmentOf(key: Uint8Array): Segment {
    const h = fnv1a(key);
    return this.segments[this.bits === 0 ? 0 : h >>> (32 - this.bits)];
  }

  private static expired(e: Entry, now: number): boolean {
    return e.expires !== 0 && e.expires <= now;
  }

  private drop(seg: Segment, k: string, e: Entry): void {
    seg.unlink(k);
    seg.used -= entrySize(e.key.length, e.value.length);
  }

  private removeLogged(seg: Segment, k: string, e: Entry, reason: Removal['reason']): void {
    this.drop(seg, k, e);
    this.counters[reason === 'expire' ? 'expirations' : 'evictions']++;
    if (this.config.logCapacity !== null) this.queue.push({ key: e.key, value: e.value, reason });
  }

  private promote(seg: Segment, k: string, e: Entry): void {
    const keys = [...seg.entries.keys()];
    if (keys[keys.length - 1] === k) return; // already the head: nothing moves
    seg.unlink(k);
    seg.entries.set(k, e);
  }

  /** The live entry, removing it (logged) if expired. */
  private live(seg: Segment, k: string, now: number): Entry | undefined {
    const e = seg.entries.get(k);
    if (e === undefined) return undefined;
    if (ModelCache.expired(e, now)) {
      this.removeLogged(seg, k, e, 'expire');
      return undefined;
    }
    return e;
  }

  /** Delivers queued records in order; a call from a callback leaves its records to the outer loop. */
  deliver(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let r = this.queue.shift(); r !== undefined; r = this.queue.shift()) {
        this.delivered.push(r);
        this.onRecord?.(r, this.delivered.length - 1);
      }
    } finally {
      this.delivering = false;
    }
  }

  /** Whether set would accept the entry (the host refuses it otherwise, changing and counting nothing). */
  accepts(key: Uint8Array, value: Uint8Array): boolean {
    return value.length <= this.config.maxValue && entrySize(key.length, value.length) <= this.config.budget;
  }

  private setOne(key: Uint8Array, value: Uint8Array, ttl: number | undefined, now: number): void {
    const seg = this.segmentOf(key);
    const size = entrySize(key.length, value.length);
    const t = ttl === undefined ? this.config.defaultTtl : ttl;
    const expires = t > 0 ? now + t : 0;
    const k = hex(key);
    const old = seg.entries.get(k);
    const freed = old ? entrySize(old.key.length, old.value.length) : 0;
    if (old && freed === size) {
      this.promote(seg, k, old);
      seg.entries.set(k, { key, value, expires });
      this.counters.sets++;
      return;
    }
    for (const [tk, te] of seg.entries) {
      if (seg.used - freed + size <= this.config.budget) break;
      if (tk === k) continue;
      this.removeLogged(seg, tk, te, ModelCache.expired(te, now) ? 'expire' : 'evict');
    }
    if (old) this.drop(seg, k, old);
    seg.entries.set(k, { key, value, expires });
    seg.used += size;
    this.counters.sets++;
  }

  /** Returns false (and changes nothing) when the host refuses the entry. */
  set(key: Uint8Array, value: Uint8Array, ttl: number | undefined, now: number): boolean {
    if (!this.accepts(key, value)) return false;
    this.setOne(key, value, ttl, now);
    this.deliver();
    return true;
  }

  /** All or nothing, like the host: false when some entry is refused. */
  setMany(entries: [Uint8Array, Uint8Array, number | undefined][], now: number): boolean {
    if (!entries.every(([k, v]) => this.accepts(k, v))) return false;
    for (const [k, v, ttl] of entries) this.setOne(k, v, ttl, now);
    this.deliver();
    return true;
  }

  private getOne(key: Uint8Array, now: number): Uint8Array | undefined {
    const seg = this.segmentOf(key);
    const k = hex(key);
    const e = this.live(seg, k, now);
    if (!e) {
      this.counters.misses++;
      return undefined;
    }
    this.promote(seg, k, e);
    this.counters.hits++;
    return e.value;
  }

  get(key: Uint8Array, now: number): Uint8Array | undefined {
    const v = this.getOne(key, now);
    this.deliver();
    return v;
  }

  getMany(keys: Uint8Array[], now: number): (Uint8Array | undefined)[] {
    const out = keys.map((k) => this.getOne(k, now));
    this.deliver();
    return out;
  }

  /**
   * Which of `keys` to keep: some expired keys are left out so that the records the lookups log fit one eviction
   * log: the core leaves an expired entry in place when a get_many call finds the log full, at a
   * point that depends on how the host splits batches (not modelled).
   */
  fitLog(keys: Uint8Array[], now: number): boolean[] {
    const cap = this.config.logCapacity;
    if (cap === null) return keys.map(() => true);
    let used = 0;
    const logged = new Set<string>();
    return keys.map((key) => {
      const k = hex(key);
      const e = this.segmentOf(key).entries.get(k);
      if (e === undefined || !ModelCache.expired(e, now) || logged.has(k)) return true;
      const size = logRecordSize(e.key.length, e.value.length);
      if (used + size > cap) return false;
      used += size;
      logged.add(k);
      return true;
    });
  }

  peek(key: Uint8Array, now: number): Uint8Array | undefined {
    const v = this.live(this.segmentOf(key), hex(key), now)?.value;
    this.deliver();
    return v;
  }

  delete(key: Uint8Array, now: number): boolean {
    const seg = this.segmentOf(key);
    const k = hex(key);
    const e = this.live(seg, k, now);
    if (e) {
      this.drop(seg, k, e);
      this.counters.deletes++;
    }
    this.deliver();
    return e !== undefined;
  }

  /**
   * One core sweep call: from the cursor toward the head, wrapping to the tail, at most
   * min(maxSteps, entries) entries; stops at an expired entry whose record does not fit the log.
   */
  private sweepCall(seg: Segment, maxSteps: number, now: number): number {
    const keys = [...seg.entries.keys()];
    const count = keys.length;
    const start = seg.cursor === null ? 0 : keys.indexOf(seg.cursor);
    if (start < 0) throw new Error('model: cursor not in the list');
    const limit = Math.min(maxSteps, count);
    const cap = this.config.logCapacity;
    let logged = 0;
    let removed = 0;
    for (let step = 0; step < limit; step++) {
      const k = keys[(start + step) % count];
      const e = seg.entries.get(k)!;
      if (!ModelCache.expired(e, now)) continue;
      if (cap !== null) {
        const size = logRecordSize(e.key.length, e.value.length);
        if (logged + size > cap) {
          seg.cursor = k;
          return removed;
        }
        logged += size;
      }
      this.removeLogged(seg, k, e, 'expire');
      removed++;
    }
    // Where the walk stopped: the next entry toward the head, or after the head (null).
    const p = start + limit;
    if (p < count) seg.cursor = keys[p];
    else if (p === count) seg.cursor = null;
    else seg.cursor = keys.slice(p - count).find((k) => seg.entries.has(k)) ?? null;
    return removed;
  }

  /** The host's sweep(maxSteps): the next segment; a whole-segment sweep goes on past a full log. */
  sweep(maxSteps: number, now: number, thread = 0): number {
    const next = this.sweepNext.get(thread) ?? 0;
    const seg = this.segments[next];
    this.sweepNext.set(thread, (next + 1) % this.segments.length);
    let removed = this.sweepCall(seg, maxSteps, now);
    if (this.config.logCapacity === null || removed === 0) return removed;
    const whole = maxSteps >= seg.entries.size + removed;
    this.deliver();
    if (!whole) return removed;
    for (;;) {
      const r = this.sweepCall(seg, Infinity, now);
      removed += r;
      if (r === 0) return removed;
      this.deliver();
    }
  }

  purgeStale(now: number): number {
    let total = 0;
    for (const seg of this.segments) {
      let r = this.sweepCall(seg, Infinity, now);
      total += r;
      while (this.config.logCapacity !== null && r > 0) {
        this.deliver();
        r = this.sweepCall(seg, Infinity, now);
        total += r;
      }
    }
    return total;
  }

  clear(): void {
    for (const seg of this.segments) {
      seg.entries.clear();
      seg.used = 0;
      seg.cursor = null;
    }
  }

  get size(): number {
    return this.segments.reduce((n, s) => n + s.entries.size, 0);
  }

  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.used, 0);
  }

  *allEntries(): Generator<Entry> {
    for (const seg of this.segments) yield* seg.entries.values();
  }
}
