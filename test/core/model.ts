// A plain-TypeScript reference model of the core's semantics: segments picked by FNV-1a, exact
// byte budgets with the core's entry cost, LRU per segment, lazy expiry. Used by the
// differential property test.
import { entrySize } from '../../src/core/abi.js';
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

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

class Segment {
  // Map iteration order is insertion order: the first entry is the least recently used.
  readonly entries = new Map<string, Entry>();
  used = 0;
}

export type Removal = [key: string, reason: 'evict' | 'expire'];

export class ModelCache {
  readonly segments: Segment[];
  readonly counters: ModelCounters = { hits: 0, misses: 0, sets: 0, deletes: 0, evictions: 0, expirations: 0, rejected: 0 };
  readonly removals: Removal[] = [];
  private readonly bits: number;

  constructor(segmentCount: number, readonly budget: number, readonly maxValue: number, readonly defaultTtl = 0) {
    this.segments = Array.from({ length: segmentCount }, () => new Segment());
    this.bits = Math.log2(segmentCount);
  }

  private segmentOf(key: Uint8Array): Segment {
    const h = fnv1a(key);
    return this.segments[this.bits === 0 ? 0 : h >>> (32 - this.bits)];
  }

  private remove(seg: Segment, k: string, e: Entry): void {
    seg.entries.delete(k);
    seg.used -= entrySize(e.key.length, e.value.length);
  }

  private live(seg: Segment, k: string, now: number): Entry | undefined {
    const e = seg.entries.get(k);
    if (e === undefined) return undefined;
    if (e.expires !== 0 && e.expires <= now) {
      this.remove(seg, k, e);
      this.counters.expirations++;
      this.removals.push([k, 'expire']);
      return undefined;
    }
    return e;
  }

  /** Returns false when the entry is refused as too large. */
  set(key: Uint8Array, value: Uint8Array, ttl: number | undefined, now: number): boolean {
    const seg = this.segmentOf(key);
    const size = entrySize(key.length, value.length);
    if (size > this.budget || value.length > this.maxValue) {
      this.counters.rejected++;
      return false;
    }
    const t = ttl === undefined ? this.defaultTtl : ttl;
    const expires = t > 0 ? now + t : 0;
    const k = hex(key);
    const old = seg.entries.get(k);
    const freed = old ? entrySize(old.key.length, old.value.length) : 0;
    if (old && freed === size) {
      seg.entries.delete(k);
      seg.entries.set(k, { key, value, expires });
      this.counters.sets++;
      return true;
    }
    for (const [tk, te] of seg.entries) {
      if (seg.used - freed + size <= this.budget) break;
      if (tk === k) continue;
      const expired = te.expires !== 0 && te.expires <= now;
      this.remove(seg, tk, te);
      this.counters[expired ? 'expirations' : 'evictions']++;
      this.removals.push([tk, expired ? 'expire' : 'evict']);
    }
    if (old) this.remove(seg, k, old);
    seg.entries.set(k, { key, value, expires });
    seg.used += size;
    this.counters.sets++;
    return true;
  }

  get(key: Uint8Array, now: number): Uint8Array | undefined {
    const seg = this.segmentOf(key);
    const k = hex(key);
    const e = this.live(seg, k, now);
    if (!e) {
      this.counters.misses++;
      return undefined;
    }
    seg.entries.delete(k);
    seg.entries.set(k, e);
    this.counters.hits++;
    return e.value;
  }

  peek(key: Uint8Array, now: number): Uint8Array | undefined {
    return this.live(this.segmentOf(key), hex(key), now)?.value;
  }

  delete(key: Uint8Array, now: number): boolean {
    const seg = this.segmentOf(key);
    const k = hex(key);
    const e = this.live(seg, k, now);
    if (!e) return false;
    this.remove(seg, k, e);
    this.counters.deletes++;
    return true;
  }

  purgeStale(now: number): number {
    let n = 0;
    for (const seg of this.segments) {
      // The core sweeps from the tail toward the head.
      for (const [k, e] of [...seg.entries]) {
        if (e.expires !== 0 && e.expires <= now) {
          this.remove(seg, k, e);
          this.counters.expirations++;
          this.removals.push([k, 'expire']);
          n++;
        }
      }
    }
    return n;
  }

  clear(): void {
    for (const seg of this.segments) {
      seg.entries.clear();
      seg.used = 0;
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
